#include "common/log/log.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace rein::log {
namespace {

// Captures lines for one test and restores the defaults afterwards.
class CapturedLog {
 public:
  CapturedLog() {
    SetSinkForTesting([this](absl::string_view line) { lines.emplace_back(line); });
  }
  ~CapturedLog() {
    SetSinkForTesting(nullptr);
    SetMinLevel(Level::kInfo);
    SetProcessName("rein");
  }
  std::vector<std::string> lines;
};

TEST_CASE("a log line carries timestamp, level, process and component") {
  CapturedLog log;
  SetProcessName("rollout-3");
  REIN_LOG(WARNING, "rpc") << "listening on " << 42;
  REQUIRE(log.lines.size() == 1);
  const std::string& line = log.lines[0];
  // 2026-11-23T19:58:55.824Z W rollout-3 rpc] listening on 42
  CHECK(line.size() > 25);
  CHECK(line[4] == '-');
  CHECK(line[10] == 'T');
  CHECK(line[23] == 'Z');
  CHECK(line.substr(24) == " W rollout-3 rpc] listening on 42");
}

TEST_CASE("lines below the minimum level are dropped without evaluating the stream") {
  CapturedLog log;
  SetMinLevel(Level::kWarning);
  int evaluated = 0;
  auto count = [&] { return ++evaluated; };
  REIN_LOG(INFO, "x") << count();
  REIN_LOG(ERROR, "x") << count();
  CHECK(log.lines.size() == 1);
  CHECK(evaluated == 1);
}

TEST_CASE("ParseLevel accepts the documented names and rejects others") {
  CHECK(*ParseLevel("debug") == Level::kDebug);
  CHECK(*ParseLevel("INFO") == Level::kInfo);
  CHECK(*ParseLevel("warning") == Level::kWarning);
  CHECK(*ParseLevel("error") == Level::kError);
  auto bad = ParseLevel("loud");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("loud") != std::string::npos);
}

}  // namespace
}  // namespace rein::log
