// Every Rein binary answers --help with what it does, how it is called and its flags (the
// worker flags included), instead of absl's "No flags matched", and exits 0.
#include <catch2/catch.hpp>
#include <string>

#include "common/testing/subprocess.h"

namespace rein::e2e {
namespace {

TEST_CASE("every service binary's --help says what it does and lists its flags") {
  for (const std::string binary : {"rein-coordinator", "rein-rollout", "rein-reward",
                                   "rein-reference", "rein-learner", "rein-feedback"}) {
    INFO(binary);
    auto result = testing::RunCommand({testing::BuiltBinary(binary), "--help"}, "",
                                      absl::Seconds(30));
    REQUIRE(result.ok());
    const std::string text = result->stdout_text + result->stderr_text;
    INFO(text);
    CHECK(result->exit_code == 0);  // asking for help succeeds (absl's default exits 1)
    CHECK(text.find(binary + " --config run.yaml") != std::string::npos);
    CHECK(text.find("--config (Experiment config file") != std::string::npos);
    CHECK(text.find("No flags matched") == std::string::npos);
    CHECK(text.find("SetProgramUsageMessage() never called") == std::string::npos);
  }
}

TEST_CASE("every tool's --help exits 0 with its usage on stdout") {
  for (const std::string binary :
       {"reinctl", "rein-demo", "rein-feedback-load", "rein-weight-sync-benchmark",
        "rein-allreduce-benchmark", "rein-codec-benchmark", "rein-dist-probe",
        "rein-bench-scale"}) {
    INFO(binary);
    auto result = testing::RunCommand({testing::BuiltBinary(binary), "--help"}, "",
                                      absl::Seconds(30));
    REQUIRE(result.ok());
    INFO(result->stdout_text << result->stderr_text);
    CHECK(result->exit_code == 0);
    CHECK(result->stdout_text.find(binary) != std::string::npos);
  }
  // An unknown flag still fails.
  auto bad = testing::RunCommand({testing::BuiltBinary("rein-rollout"), "--no_such_flag"}, "",
                                 absl::Seconds(30));
  REQUIRE(bad.ok());
  CHECK(bad->exit_code != 0);
  CHECK_THAT(bad->stderr_text, Catch::Contains("no_such_flag"));
}

}  // namespace
}  // namespace rein::e2e
