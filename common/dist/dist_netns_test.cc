// Two "hosts": network namespaces joined by a veth pair (10.77.0.1 <-> 10.77.0.2), one
// rein-dist-probe rank in each, rendezvousing at MASTER_ADDR=10.77.0.1 with Gloo bound to the
// veth (GLOO_SOCKET_IFNAME). Needs root and `ip netns`; without them the test says why and
// passes without running (a real probe: it tries to create a namespace).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/subprocess.h"

namespace rein::dist {
namespace {

struct Namespaces {
  std::string a, b;
  ~Namespaces() {
    std::system(("ip netns del " + a + " 2>/dev/null").c_str());
    std::system(("ip netns del " + b + " 2>/dev/null").c_str());
  }
};

int Sh(const std::string& command) { return std::system(command.c_str()); }

TEST_CASE("Two ranks in two network namespaces joined by a veth pair form a Gloo group") {
  const std::string tag = std::to_string(getpid());
  Namespaces ns{"rein-dp-a-" + tag, "rein-dp-b-" + tag};
  if (Sh("ip netns add " + ns.a + " 2>/dev/null") != 0) {
    WARN("skipped: cannot create a network namespace (`ip netns add` failed: not root, no "
         "iproute2, or no CAP_SYS_ADMIN in this container)");
    return;
  }
  REQUIRE(Sh("ip netns add " + ns.b) == 0);
  const std::string va = "rva" + tag, vb = "rvb" + tag;
  REQUIRE(Sh("ip link add " + va + " type veth peer name " + vb) == 0);
  REQUIRE(Sh("ip link set " + va + " netns " + ns.a) == 0);
  REQUIRE(Sh("ip link set " + vb + " netns " + ns.b) == 0);
  REQUIRE(Sh("ip -n " + ns.a + " addr add 10.77.0.1/24 dev " + va) == 0);
  REQUIRE(Sh("ip -n " + ns.b + " addr add 10.77.0.2/24 dev " + vb) == 0);
  for (const auto& [n, v] : {std::pair{ns.a, va}, std::pair{ns.b, vb}}) {
    REQUIRE(Sh("ip -n " + n + " link set lo up") == 0);
    REQUIRE(Sh("ip -n " + n + " link set " + v + " up") == 0);
  }
  std::vector<std::unique_ptr<testing::Subprocess>> ranks;
  for (int r = 0; r < 2; ++r) {
    auto process = testing::Subprocess::Start(
        {"/usr/sbin/ip", "netns", "exec", r == 0 ? ns.a : ns.b, "/usr/bin/env",
         absl::StrCat("RANK=", r), "WORLD_SIZE=2", "MASTER_ADDR=10.77.0.1", "MASTER_PORT=29531",
         absl::StrCat("GLOO_SOCKET_IFNAME=", r == 0 ? va : vb),
         testing::BuiltBinary("rein-dist-probe"), "--timeout", "60s"});
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
