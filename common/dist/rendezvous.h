// How a learner rank finds its peers and gets a Communicator.
//
// Two rendezvous, one choice (see ResolveRendezvous):
//   - the launcher's conventions: MASTER_ADDR and MASTER_PORT name a TCPStore that rank 0
//     hosts (torchrun, Slurm and Kubernetes launchers set them, with RANK, WORLD_SIZE and
//     LOCAL_RANK);
//   - the coordinator's key-value store (KvSet/KvGet, coordinator_store.h): ranks only need the
//     coordinator's address, which workers have anyway.
// The environment is read here and nowhere else (ReadLauncherEnv).
//
// Backend: NCCL when the model lives on CUDA and the build has NCCL (REIN_HAVE_NCCL), Gloo
// otherwise; `backend` forces one.
#ifndef REIN_COMMON_DIST_RENDEZVOUS_H_
#define REIN_COMMON_DIST_RENDEZVOUS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/dist/communicator.h"
#include "common/dist/gloo_communicator.h"
#include "common/rpc/options.h"

namespace rein::dist {

// The cluster launchers' environment; a variable that is unset stays empty.
struct LauncherEnv {
  std::optional<int> rank;        // RANK
  std::optional<int> world_size;  // WORLD_SIZE
  std::optional<int> local_rank;  // LOCAL_RANK
  std::string master_addr;        // MASTER_ADDR
  std::optional<int> master_port;  // MASTER_PORT
  std::string gloo_socket_ifname;  // GLOO_SOCKET_IFNAME
};

// Reads the variables above. INVALID_ARGUMENT naming the variable for a value that is not a
// non-negative integer (ports: 1..65535).
absl::StatusOr<LauncherEnv> ReadLauncherEnv();

enum class Backend { kAuto, kGloo, kNccl };

struct RendezvousOptions {
  int rank = 0;
  int world_size = 1;
  // CUDA device of this rank (NCCL). Default 0.
  int local_rank = 0;
  // TCPStore rendezvous when master_addr is set: rank 0 listens on master_port.
  std::string master_addr;
  int master_port = 29500;
  // Otherwise the coordinator's key-value store at `coordinator` (host:port), keys under
  // `group_id`.
  std::string coordinator;
  rpc::ClientOptions client;
  std::string group_id = "learner";
  Backend backend = Backend::kAuto;
  // True when the tensors to reduce live on CUDA (picks NCCL under kAuto).
  bool cuda = false;
  // Forming the group and each collective. Default 5 minutes.
  absl::Duration timeout = absl::Minutes(5);
  // Gloo's listening interface (GLOO_SOCKET_IFNAME) or host name; see GlooOptions.
  std::string gloo_interface;
  std::string gloo_hostname;
};

// `flags` (rank, world size, coordinator... as the caller's flags and config give them)
// completed and checked against the launcher's environment: RANK, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT and GLOO_SOCKET_IFNAME, where set, take precedence; WORLD_SIZE, where set, must
// equal flags.world_size. INVALID_ARGUMENT for a rank outside [0, world_size) or, with more
// than one rank, for neither MASTER_ADDR nor a coordinator.
absl::StatusOr<RendezvousOptions> ResolveRendezvous(RendezvousOptions flags,
                                                    const LauncherEnv& env);

// Forms the group (blocks until every rank has joined or the timeout passes). With one rank
// returns a Communicator whose collectives are no-ops over the local tensors.
absl::StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const RendezvousOptions& options);

// The c10d store the options name (TCPStore or coordinator store), for callers that form
// groups themselves (tests, benchmarks).
absl::StatusOr<StorePtr> ConnectStore(const RendezvousOptions& options);

}  // namespace rein::dist

#endif  // REIN_COMMON_DIST_RENDEZVOUS_H_
