// Two "hosts": network namespaces joined by a veth pair (10.77.0.1 <-> 10.77.0.2), one
// rein-dist-probe rank in each, rendezvousing at MASTER_ADDR=10.77.0.1 with Gloo bound to the
// veth (GLOO_SOCKET_IFNAME). Needs root and `ip netns`; without them the test says why and
// passes without running (a real probe: it tries to create a namespace).

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/net_namespaces.h"
#include "common/testing/subprocess.h"

namespace rein::dist {
namespace {

TEST_CASE("Two ranks in two network namespaces joined by a veth pair form a Gloo group") {
  auto machines = testing::NamespacePair::Create("rein-dp", "10.77.0");
  if (machines.status().code() == absl::StatusCode::kFailedPrecondition) {
    WARN("skipped: " << machines.status().message());
    return;
  }
  REQUIRE(machines.ok());
  const testing::NamespacePair& ns = **machines;
  std::vector<std::unique_ptr<testing::Subprocess>> ranks;
  for (int r = 0; r < 2; ++r) {
    auto process = testing::Subprocess::Start(ns.Exec(
        r, {"/usr/bin/env", absl::StrCat("RANK=", r), "WORLD_SIZE=2", "MASTER_ADDR=10.77.0.1",
            "MASTER_PORT=29531", absl::StrCat("GLOO_SOCKET_IFNAME=", ns.device(r)),
            testing::BuiltBinary("rein-dist-probe"), "--timeout", "60s"}));
    REQUIRE(process.ok());
    ranks.push_back(*std::move(process));
  }
  for (auto& process : ranks) {
    auto checksum = process->WaitForLine("checksum ", absl::Seconds(90));
    INFO(checksum.status().ToString());
    REQUIRE(checksum.ok());
    // (1 + 2) · 2^20 elements.
    CHECK(*checksum == "3145728.0");
    CHECK(process->Wait(absl::Seconds(30)).value_or(-1) == 0);
  }
}

}  // namespace
}  // namespace rein::dist
