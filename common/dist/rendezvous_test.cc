#include "common/dist/rendezvous.h"

#include <ATen/ops/full.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <catch2/catch.hpp>
#include <thread>

namespace rein::dist {
namespace {

TEST_CASE("The launcher's environment takes precedence and is checked") {
  RendezvousOptions flags;
  flags.world_size = 4;
  LauncherEnv env;
  env.rank = 3;
  env.local_rank = 1;
  env.master_addr = "10.0.0.1";
  env.master_port = 29511;
  env.gloo_socket_ifname = "eth1";
  auto resolved = ResolveRendezvous(flags, env);
  REQUIRE(resolved.ok());
  CHECK(resolved->rank == 3);
  CHECK(resolved->local_rank == 1);
  CHECK(resolved->master_addr == "10.0.0.1");
  CHECK(resolved->master_port == 29511);
  CHECK(resolved->gloo_interface == "eth1");

  env.world_size = 2;
  CHECK(ResolveRendezvous(flags, env).status().message().find("WORLD_SIZE=2") !=
        std::string::npos);
  env.world_size.reset();
  env.rank = 4;
  CHECK(ResolveRendezvous(flags, env).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Several ranks need MASTER_ADDR or a coordinator") {
  RendezvousOptions flags;
  flags.world_size = 2;
  auto resolved = ResolveRendezvous(flags, {});
  REQUIRE_FALSE(resolved.ok());
  CHECK(resolved.status().message().find("MASTER_ADDR") != std::string::npos);
  flags.coordinator = "127.0.0.1:4000";
  CHECK(ResolveRendezvous(flags, {}).ok());
  flags.world_size = 1;
  flags.coordinator.clear();
  CHECK(ResolveRendezvous(flags, {}).ok());
}

TEST_CASE("One rank gets a communicator whose collectives are the identity") {
  auto comm = CreateCommunicator({});
  REQUIRE(comm.ok());
  at::Tensor t = at::full({2}, 5.0);
  CHECK((*comm)->AllReduce(t, ReduceOp::kAverage).ok());
  CHECK(t.equal(at::full({2}, 5.0)));
  CHECK((*comm)->world_size() == 1);
}

TEST_CASE("Two ranks rendezvous at MASTER_ADDR:MASTER_PORT (a TCPStore on rank 0)") {
  RendezvousOptions rank0;
  rank0.world_size = 2;
  rank0.master_addr = "127.0.0.1";
  rank0.master_port = 0;
  rank0.timeout = absl::Seconds(30);
  rank0.gloo_hostname = "127.0.0.1";
  // Rank 0 listens on a port of the system's choosing; rank 1 learns it from rank 0's store.
  auto store0 = ConnectStore(rank0);
  REQUIRE(store0.ok());
  const int port = static_cast<c10d::TCPStore*>(store0->get())->getPort();
  RendezvousOptions rank1 = rank0;
  rank1.rank = 1;
  rank1.master_port = port;
  absl::Status status1;
  std::thread other([&] {
    auto comm = CreateCommunicator(rank1);
    if (!comm.ok()) {
      status1 = comm.status();
      return;
    }
    at::Tensor t = at::full({3}, 2.0);
    status1 = (*comm)->AllReduce(t, ReduceOp::kSum);
  });
  GlooOptions gloo;
  gloo.world_size = 2;
  gloo.hostname = "127.0.0.1";
  auto comm0 = CreateGlooCommunicator(gloo, *store0);
  REQUIRE(comm0.ok());
  at::Tensor t = at::full({3}, 1.0);
  CHECK((*comm0)->AllReduce(t, ReduceOp::kSum).ok());
  other.join();
  INFO(status1.ToString());
  CHECK(status1.ok());
  CHECK(t.equal(at::full({3}, 3.0)));
}

}  // namespace
}  // namespace rein::dist
