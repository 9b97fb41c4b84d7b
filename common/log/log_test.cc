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

TEST_CASE("a message cannot forge lines: control characters are escaped, long ones cut") {
  CapturedLog log;
  // A worker id as a hostile client might send it: a fake second line, a terminal escape, a
  // carriage return that would overwrite the line on a terminal, a Unicode line separator.
  REIN_LOG(INFO, "registry") << "registered " << "w1\n2026-11-23T19:58:55.824Z E rein auth] "
                             << "admin login\x1b[2J\r ok\u2028x\x7f\t";
  REQUIRE(log.lines.size() == 1);
  CHECK(log.lines[0].substr(24) ==
        " I rein registry] registered w1\\n2026-11-23T19:58:55.824Z E rein auth] admin "
        "login\\x1b[2J\\r ok\\u2028x\\x7f\\t");
  CHECK(log.lines[0].find('\n') == std::string::npos);
  // Printable UTF-8 stays as it is.
  CHECK(Sanitized("température ✓") == "température ✓");
  // A long message is cut (never inside a UTF-8 character) and says by how much.
  const std::string long_text = std::string(kMaxLineBytes - 1, 'a') + "é" + "tail";
  REIN_LOG(INFO, "x") << long_text;
  REQUIRE(log.lines.size() == 2);
  const std::string expected_body =
      std::string(kMaxLineBytes - 1, 'a') + "…(6 more bytes)";
  CHECK(log.lines[1].substr(log.lines[1].find("] ") + 2) == expected_body);
  CHECK(Sanitized("abcdef", 3) == "abc…(3 more bytes)");
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
