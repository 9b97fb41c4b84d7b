// The README's recipe for several machines without a scheduler, on two "machines": network
// namespaces joined by a veth pair (10.79.0.1 <-> 10.79.0.2). Machine A runs `reinctl up` with
// the coordinator, the rollouts, reward, reference and learner rank 0; machine B runs
// `reinctl up --workers-only` with learner rank 1, which joins A's coordinator and forms the
// Gloo group with rank 0 across the veth. Needs root and `ip netns`; without them the test says
// why and passes without running.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/net_namespaces.h"
#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

std::unique_ptr<testing::Subprocess> Start(const std::vector<std::string>& argv) {
  auto process = testing::Subprocess::Start(argv);
  REQUIRE(process.ok());
  return *std::move(process);
}

TEST_CASE("a run over two machines by hand: reinctl up on one, reinctl up --workers-only on the other") {
  auto machines = testing::NamespacePair::Create("rein-mh", "10.79.0");
  if (machines.status().code() == absl::StatusCode::kFailedPrecondition) {
    WARN("skipped: " << machines.status().message());
    return;
  }
  REQUIRE(machines.ok());
  const testing::NamespacePair& ns = **machines;
  const std::string dir = testing::MakeTempDir("rein-multihost-");
  // Both machines read the same config (a shared file system or a copy).
  const std::string config = WriteConfig(dir, 4, {{"server", "  host: 0.0.0.0\n"},
                                                  {"learner", "  ranks: 2\n  backend: gloo\n"}});
  const std::string port = "47123";  // a fresh namespace has every port free
  auto b = Start(ns.Exec(1, {testing::BuiltBinary("reinctl"), "up", "--config", config,
                              "--run-dir", dir + "/run-b", "--workers-only", "--coordinator",
                              "10.79.0.1:" + port, "--roles", "learner", "--ranks", "1-1",
                              "--advertise-host", "10.79.0.2"}));
  // Machine B first: a launcher starts every process at once, so a rank may look for the
  // coordinator before it listens, and must wait for it.
  const std::string learner_log = dir + "/run-b/logs/learner-1.log";
  for (absl::Time give_up = absl::Now() + absl::Minutes(1);
       ReadFile(learner_log).find("forming the group") == std::string::npos;) {
    REQUIRE(absl::Now() < give_up);
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto a = Start(ns.Exec(0, {testing::BuiltBinary("reinctl"), "up", "--config", config,
                              "--run-dir", dir + "/run-a", "--coordinator-port", port,
                              "--ranks", "0", "--advertise-host", "10.79.0.1"}));
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
  const std::string learner1 = ReadFile(learner_log);
  CHECK_THAT(learner1, Catch::Contains("rank 1 of 2"));
  CHECK_THAT(learner1, Catch::Contains("registered with coordinator 10.79.0.1:" + port));
  CHECK_THAT(ReadFile(dir + "/run-a/logs/coordinator.log"), Catch::Contains("10.79.0.2:"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rein::e2e
