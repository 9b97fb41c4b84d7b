// A c10d::Store backed by the coordinator's key-value rendezvous (rein.v1.Coordinator KvSet /
// KvGet, c10d Store semantics: set overwrites, get waits for the key). Learner ranks on any
// hosts form their Gloo group (or exchange the NCCL id) through it, so the only address they
// need is the coordinator's.
//
// Keys live under "<group_id>/" on the coordinator and are never deleted: a group that is
// re-formed (a restarted learner job) needs a new group_id, or a fresh coordinator.
// Unsupported c10d operations (add, deleteKey, getNumKeys, compareSet), which Gloo's
// rendezvous does not use, throw.
//
// Ownership: holds its own gRPC channel. Thread safety: thread safe (one channel, one call per
// operation). Errors are thrown as c10::Error (the c10d contract); the communicator that uses
// the store catches them.
#ifndef REIN_COMMON_DIST_COORDINATOR_STORE_H_
#define REIN_COMMON_DIST_COORDINATOR_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/dist/gloo_communicator.h"
#include "common/rpc/options.h"

namespace rein::dist {

struct CoordinatorStoreOptions {
  // host:port of the coordinator.
  std::string address;
  rpc::ClientOptions client;
  // Namespace of this group's keys. Default "learner".
  std::string group_id = "learner";
  // Longest wait for a key (c10d's store timeout). Default 5 minutes (the coordinator caps
  // one KvGet at 10 minutes).
  absl::Duration timeout = absl::Minutes(5);
};

// INVALID_ARGUMENT for an empty address or group id; the channel's errors. Connects lazily.
absl::StatusOr<StorePtr> ConnectCoordinatorStore(const CoordinatorStoreOptions& options);

}  // namespace rein::dist

#endif  // REIN_COMMON_DIST_COORDINATOR_STORE_H_
