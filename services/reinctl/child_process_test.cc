#include "services/reinctl/child_process.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/testing/subprocess.h"

namespace rein::reinctl {
namespace {

TEST_CASE("a child's log lines are its own, even in a log an earlier run appended to") {
  const std::string log = testing::MakeTempDir("rein-child-") + "/coordinator.log";
  // What the run before a resume left in the same run folder.
  std::ofstream(log) << "rein-coordinator listening on 127.0.0.1:1111\nold run ended\n";
  auto child = ChildProcess::Spawn(
      "coordinator",
      {"/bin/sh", "-c", "echo 'rein-coordinator listening on 127.0.0.1:2222'; sleep 30"}, log);
  REQUIRE(child.ok());
  absl::StatusOr<std::string> address =
      (*child)->WaitForLogLine(" listening on ", absl::Seconds(20));
  REQUIRE(address.ok());
  CHECK(*address == "127.0.0.1:2222");
  CHECK((*child)->LogTail(5) == "rein-coordinator listening on 127.0.0.1:2222");
  (*child)->Signal(SIGKILL);
  CHECK((*child)->Wait(absl::Seconds(10)).has_value());
}

TEST_CASE("waiting for a line a child never writes ends when the child exits") {
  const std::string log = testing::MakeTempDir("rein-child-") + "/worker.log";
  std::ofstream(log) << "worker-0 listening on 127.0.0.1:1111\n";
  auto child = ChildProcess::Spawn("worker", {"/bin/sh", "-c", "echo starting; exit 3"}, log);
  REQUIRE(child.ok());
  absl::StatusOr<std::string> address =
      (*child)->WaitForLogLine(" listening on ", absl::Seconds(20));
  CHECK(address.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(address.status().message().find("exited with status 3") != std::string::npos);
}

}  // namespace
}  // namespace rein::reinctl
