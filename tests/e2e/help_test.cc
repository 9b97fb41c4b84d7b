// Every Rein binary answers --help with what it does, how it is called and its flags (the
// worker flags included), instead of absl's "No flags matched".
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
    CHECK(text.find(binary + " --config run.yaml") != std::string::npos);
    CHECK(text.find("--config (Experiment config file") != std::string::npos);
    CHECK(text.find("No flags matched") == std::string::npos);
    CHECK(text.find("SetProgramUsageMessage() never called") == std::string::npos);
  }
}

}  // namespace
}  // namespace rein::e2e
