// reinctl config and reinctl health, run as real processes.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/rpc/serve.h"
#include "common/testing/subprocess.h"

namespace rein::reinctl {
namespace {

using testing::BuiltBinary;
using testing::RunCommand;

testing::CommandResult Reinctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BuiltBinary("reinctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = RunCommand(argv, "", absl::Seconds(60));
  REQUIRE(result.ok());
  return *result;
}

TEST_CASE("reinctl config check accepts the example config and summarises it") {
  auto result = Reinctl({"config", "check", testing::SourcePath("deploy/config/example.yaml")});
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text.find(": OK") != std::string::npos);
  CHECK(result.stdout_text.find("learner") != std::string::npos);
}

TEST_CASE("reinctl config check names the file, line and key of every error") {
  std::string dir = testing::MakeTempDir("rein-config-");
  std::string path = dir + "/bad.yaml";
  std::ofstream(path) << "run:\n  iterations: lots\nlearner:\n  lerning_rate: 0.1\n";
  auto result = Reinctl({"config", "check", path});
  CHECK(result.exit_code == 1);
  CHECK(result.stderr_text.find(path + ":2: run.iterations") != std::string::npos);
  CHECK(result.stderr_text.find(path + ":4: unknown key 'learner.lerning_rate'") !=
        std::string::npos);
}

TEST_CASE("reinctl config defaults prints every section") {
  auto result = Reinctl({"config", "defaults"});
  CHECK(result.exit_code == 0);
  for (const char* section : {"run:", "data:", "model:", "rollout:", "reward:", "reference:",
                              "learner:", "ppo:", "server:"}) {
    CHECK(result.stdout_text.find(section) != std::string::npos);
  }
}

TEST_CASE("reinctl health reports SERVING for a live server and fails for a dead address") {
  auto server = testing::Subprocess::Start({BuiltBinary("rein-test-echo-server")});
  REQUIRE(server.ok());
  auto address = (*server)->WaitForLine(rpc::kListeningMarker, absl::Seconds(30));
  REQUIRE(address.ok());
  auto live = Reinctl({"health", *address, "--service", "rein.testing.Echo", "--wait", "10s"});
  CHECK(live.exit_code == 0);
  CHECK(live.stdout_text.find("SERVING") != std::string::npos);
  REQUIRE((*server)->Signal(SIGTERM).ok());
  REQUIRE((*server)->Wait(absl::Seconds(30)).ok());
  auto dead = Reinctl({"health", *address});
  CHECK(dead.exit_code == 1);
  CHECK(dead.stdout_text.find("NOT SERVING") != std::string::npos);
}

}  // namespace
}  // namespace rein::reinctl
