#include "common/dist/rendezvous.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <exception>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/dist/coordinator_store.h"
#include "common/status/status_macros.h"
#ifdef REIN_HAVE_NCCL
#include "common/dist/nccl_collectives.h"
#endif

namespace rein::dist {
namespace {

absl::Status ReadInt(const char* name, int max, std::optional<int>& out) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return absl::OkStatus();
  int parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < 0 || parsed > max) {
    return absl::InvalidArgumentError(absl::StrCat("environment variable ", name, "=\"", value,
                                                   "\" is not an integer in [0, ", max, "]"));
  }
  out = parsed;
  return absl::OkStatus();
}

std::string ReadString(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// One rank: every collective is the identity.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "local"; }
  absl::StatusOr<std::unique_ptr<PendingCollective>> AllReduceAsync(at::Tensor,
                                                                    ReduceOp) override {
    class Done final : public PendingCollective {
     public:
      absl::Status Wait() override { return absl::OkStatus(); }
    };
    return std::unique_ptr<PendingCollective>(new Done());
  }
  absl::Status Broadcast(at::Tensor, int) override { return absl::OkStatus(); }
  absl::Status Barrier() override { return absl::OkStatus(); }
};

}  // namespace

absl::StatusOr<LauncherEnv> ReadLauncherEnv() {
  LauncherEnv env;
  constexpr int kMaxRanks = 1 << 20;
  RETURN_IF_ERROR(ReadInt("RANK", kMaxRanks, env.rank));
  RETURN_IF_ERROR(ReadInt("WORLD_SIZE", kMaxRanks, env.world_size));
  RETURN_IF_ERROR(ReadInt("LOCAL_RANK", kMaxRanks, env.local_rank));
  RETURN_IF_ERROR(ReadInt("MASTER_PORT", 65535, env.master_port));
  if (env.master_port == 0) {
    return absl::InvalidArgumentError("environment variable MASTER_PORT=0 is not a port");
  }
  env.master_addr = ReadString("MASTER_ADDR");
  env.gloo_socket_ifname = ReadString("GLOO_SOCKET_IFNAME");
  return env;
}

absl::StatusOr<RendezvousOptions> ResolveRendezvous(RendezvousOptions flags,
                                                    const LauncherEnv& env) {
  if (env.rank) flags.rank = *env.rank;
  if (env.local_rank) flags.local_rank = *env.local_rank;
  if (env.world_size && *env.world_size != flags.world_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WORLD_SIZE=", *env.world_size, " but the config asks for ", flags.world_size,
        " learner ranks (learner.ranks)"));
  }
  if (!env.master_addr.empty()) flags.master_addr = env.master_addr;
  if (env.master_port) flags.master_port = *env.master_port;
  if (!env.gloo_socket_ifname.empty()) flags.gloo_interface = env.gloo_socket_ifname;
  if (flags.world_size < 1 || flags.rank < 0 || flags.rank >= flags.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", flags.rank, " is not in [0, ",
                                                   flags.world_size, ") (--rank or RANK)"));
  }
  if (flags.world_size > 1 && flags.master_addr.empty() && flags.coordinator.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        flags.world_size, " learner ranks need a rendezvous: set MASTER_ADDR and MASTER_PORT, "
        "or give the coordinator's address (--coordinator)"));
  }
  if (flags.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("collective timeout must be > 0");
  }
  return flags;
}

absl::StatusOr<StorePtr> ConnectStore(const RendezvousOptions& options) {
  if (options.master_addr.empty()) {
    CoordinatorStoreOptions store;
    store.address = options.coordinator;
    store.client = options.client;
    store.group_id = options.group_id;
    store.timeout = options.timeout;
    return ConnectCoordinatorStore(store);
  }
  try {
    c10d::TCPStoreOptions tcp;
    tcp.port = static_cast<uint16_t>(options.master_port);
    tcp.isServer = options.rank == 0;
    tcp.numWorkers = options.world_size;
    tcp.waitWorkers = false;
    tcp.timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(options.timeout));
    return StorePtr(c10::make_intrusive<c10d::TCPStore>(options.master_addr, tcp));
  } catch (const std::exception& e) {
    std::string what = e.what();
    return absl::UnavailableError(absl::StrCat(
        "rank ", options.rank, ": TCPStore at ", options.master_addr, ":", options.master_port,
        options.rank == 0 ? " (hosted by this rank)" : " (hosted by rank 0)", ": ",
        what.substr(0, what.find('\n'))));
  }
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(
    const RendezvousOptions& options) {
  if (options.world_size == 1) return std::unique_ptr<Communicator>(new LocalCommunicator());
  Backend backend = options.backend;
  if (backend == Backend::kAuto) {
#ifdef REIN_HAVE_NCCL
    backend = options.cuda ? Backend::kNccl : Backend::kGloo;
#else
    backend = Backend::kGloo;
#endif
  }
  ASSIGN_OR_RETURN(StorePtr store, ConnectStore(options));
  if (backend == Backend::kNccl) {
#ifdef REIN_HAVE_NCCL
    NcclGroupOptions nccl;
    nccl.rank = options.rank;
    nccl.world_size = options.world_size;
    nccl.device = options.local_rank;
    nccl.timeout = options.timeout;
    return CreateNcclCommunicator(nccl, store);
#else
    return absl::FailedPreconditionError(
        "learner.backend nccl: this rein-learner was built without CUDA and NCCL");
#endif
  }
  GlooOptions gloo;
  gloo.rank = options.rank;
  gloo.world_size = options.world_size;
  gloo.timeout = options.timeout;
  gloo.interface = options.gloo_interface;
  gloo.hostname = options.gloo_hostname;
  return CreateGlooCommunicator(gloo, store);
}

}  // namespace rein::dist
