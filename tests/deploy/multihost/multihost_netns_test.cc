// The README's recipe for several machines without a scheduler, on two "machines": network
// namespaces joined by a veth pair (10.79.0.1 <-> 10.79.0.2). Machine A runs `reinctl up` with
// the coordinator, the rollouts, reward, reference and learner rank 0; machine B runs
// `reinctl up --workers-only` with learner rank 1, which joins A's coordinator and forms the
// Gloo group with rank 0 across the veth. Needs root and `ip netns`; without them the test says
// why and passes without running.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

struct Namespaces {
  std::string a, b;
  ~Namespaces() {
    std::system(("ip netns del " + a + " 2>/dev/null").c_str());
    std::system(("ip netns del " + b + " 2>/dev/null").c_str());
  }
};

int Sh(const std::string& command) { return std::system(command.c_str()); }

// Two namespaces joined by a veth pair, loopback up in each; false if namespaces are refused.
bool Connect(const Namespaces& ns, const std::string& tag) {
  if (Sh("ip netns add " + ns.a + " 2>/dev/null") != 0) return false;
  REQUIRE(Sh("ip netns add " + ns.b) == 0);
  const std::string va = "rmha" + tag, vb = "rmhb" + tag;
  REQUIRE(Sh("ip link add " + va + " type veth peer name " + vb) == 0);
  REQUIRE(Sh("ip link set " + va + " netns " + ns.a) == 0);
  REQUIRE(Sh("ip link set " + vb + " netns " + ns.b) == 0);
  REQUIRE(Sh("ip -n " + ns.a + " addr add 10.79.0.1/24 dev " + va) == 0);
  REQUIRE(Sh("ip -n " + ns.b + " addr add 10.79.0.2/24 dev " + vb) == 0);
  for (const auto& [n, v] : {std::pair{ns.a, va}, std::pair{ns.b, vb}}) {
    REQUIRE(Sh("ip -n " + n + " link set lo up") == 0);
    REQUIRE(Sh("ip -n " + n + " link set " + v + " up") == 0);
  }
  return true;
}

std::unique_ptr<testing::Subprocess> InNamespace(const std::string& ns,
                                                 std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"/usr/sbin/ip", "netns", "exec", ns});
  auto process = testing::Subprocess::Start(argv);
  REQUIRE(process.ok());
  return *std::move(process);
}

TEST_CASE("a run over two machines by hand: reinctl up on one, reinctl up --workers-only on the other") {
  const std::string tag = std::to_string(getpid() % 100000);
  Namespaces ns{"rein-mh-a-" + tag, "rein-mh-b-" + tag};
  if (!Connect(ns, tag)) {
    WARN("skipped: cannot create a network namespace (`ip netns add` failed: not root, no "
         "CAP_SYS_ADMIN, or no netns support)");
    return;
  }
  const std::string dir = testing::MakeTempDir("rein-multihost-");
  // Both machines read the same config (a shared file system or a copy).
  const std::string config = WriteConfig(dir, 4, {{"server", "  host: 0.0.0.0\n"},
                                                  {"learner", "  ranks: 2\n  backend: gloo\n"}});
  const std::string port = "47123";  // a fresh namespace has every port free
  auto a = InNamespace(ns.a, {testing::BuiltBinary("reinctl"), "up", "--config", config,
                              "--run-dir", dir + "/run-a", "--coordinator-port", port,
                              "--ranks", "0", "--advertise-host", "10.79.0.1"});
  auto b = InNamespace(ns.b, {testing::BuiltBinary("reinctl"), "up", "--config", config,
                              "--run-dir", dir + "/run-b", "--workers-only", "--coordinator",
                              "10.79.0.1:" + port, "--roles", "learner", "--ranks", "1-1",
                              "--advertise-host", "10.79.0.2"});
  auto a_exit = a->Wait(absl::Minutes(4));
  INFO("machine A:\n" << a->output());
  REQUIRE(a_exit.ok());
  CHECK(*a_exit == 0);
  CHECK_THAT(a->output(), Catch::Contains("run finished"));
  // B's reinctl sees the coordinator go and stops its learner.
  auto b_exit = b->Wait(absl::Minutes(1));
  INFO("machine B:\n" << b->output());
  REQUIRE(b_exit.ok());
  CHECK(*b_exit == 0);
  CHECK_THAT(b->output(), Catch::Contains("1 workers starting, joining coordinator 10.79.0.1:" + port));
  CHECK_THAT(b->output(), Catch::Contains("is gone (the run ended there)"));

  const std::vector<nlohmann::json> stats = ReadStats(dir + "/run-a");
  REQUIRE(stats.size() == 4);
  // Rank 1 ran on B, registered at B's address, and trained in the group with rank 0.
  const std::string a_pids = ReadFile(dir + "/run-a/pids");
  CHECK_THAT(a_pids, Catch::Contains("learner-0") && !Catch::Contains("learner-1"));
  const std::string learner1 = ReadFile(dir + "/run-b/logs/learner-1.log");
  CHECK_THAT(learner1, Catch::Contains("rank 1 of 2"));
  CHECK_THAT(learner1, Catch::Contains("registered with coordinator 10.79.0.1:" + port));
  CHECK_THAT(ReadFile(dir + "/run-a/logs/coordinator.log"), Catch::Contains("10.79.0.2:"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rein::e2e
