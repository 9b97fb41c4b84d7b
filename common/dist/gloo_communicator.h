// Collectives over Gloo (c10d's ProcessGroupGloo from LibTorch) for CPU tensors, behind the
// Communicator interface. The rendezvous goes through a c10d::Store (the coordinator's
// key-value store, CoordinatorStore, or a TCPStore at MASTER_ADDR:MASTER_PORT; see
// rendezvous.h), which also serves failure diagnosis: a rank whose collective fails posts
// "failed/<rank>" and waits up to `diagnosis_grace` for the others' posts; the ranks that posted
// nothing are named in the error as the ones that did not arrive.
//
// Ownership: shares the store with the caller. Speaks for options.rank.
// Thread safety: see Communicator; starting collectives is serialised internally.
#ifndef REIN_COMMON_DIST_GLOO_COMMUNICATOR_H_
#define REIN_COMMON_DIST_GLOO_COMMUNICATOR_H_

#include <memory>
#include <string>

#include <c10/util/intrusive_ptr.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/dist/communicator.h"

namespace c10d {
class Store;
}  // namespace c10d

namespace rein::dist {

struct GlooOptions {
  int rank = 0;
  int world_size = 1;
  // Longest wait for forming the group or for one collective. Default 5 minutes.
  absl::Duration timeout = absl::Minutes(5);
  // After a failure, how long to wait for the other ranks' failure reports before naming the
  // silent ones. Default 3 seconds.
  absl::Duration diagnosis_grace = absl::Seconds(3);
  // Where this rank's Gloo sockets listen: a network interface name (e.g. "eth0"; the
  // ecosystem's GLOO_SOCKET_IFNAME), else a host name or address, else (both empty) the
  // address this host's name resolves to. Peers must reach it.
  std::string interface;
  std::string hostname;
  // Gloo worker threads (collectives in flight at once). Default 2.
  int threads = 2;
};

using StorePtr = c10::intrusive_ptr<c10d::Store>;

// Forms the group: blocks until every rank has joined or options.timeout passes
// (DEADLINE_EXCEEDED naming the ranks that never joined). INVALID_ARGUMENT for a bad rank or
// world size.
absl::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(const GlooOptions& options,
                                                                     const StorePtr& store);

}  // namespace rein::dist

#endif  // REIN_COMMON_DIST_GLOO_COMMUNICATOR_H_
