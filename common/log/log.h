// Rein's one logger: levelled, timestamped lines that name the process and the component.
//
//   REIN_LOG(INFO, "rpc") << "listening on " << address;
// writes one line to stderr:
//   2026-11-23T19:58:55.824Z I rollout-0 rpc] listening on 127.0.0.1:40211
//
// Thread safety: lines from concurrent threads never interleave (each line is one write).
//
// Lines cannot be forged: whatever a message holds (a client's worker id, an annotator's name,
// an error quoting a request), every control character is written escaped (\n, \r, \t, \xHH;
// the Unicode line and paragraph separators as \u2028/\u2029), so one message is always one
// line; and a message longer than kMaxLineBytes is cut there and says how much was left out.
// Configuration (level, process name) is set once in main(), before threads start.
#ifndef REIN_COMMON_LOG_LOG_H_
#define REIN_COMMON_LOG_LOG_H_

#include <functional>
#include <sstream>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace rein::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// The longest message body written (the header of timestamp, level, process and component
// comes on top).
inline constexpr size_t kMaxLineBytes = 4096;

// `text` as a log line shows it: control characters escaped, cut at `max_bytes` (never inside
// a UTF-8 character) with "…(N more bytes)" appended.
std::string Sanitized(absl::string_view text, size_t max_bytes = kMaxLineBytes);

// Lines below `level` are dropped. Default: kInfo.
void SetMinLevel(Level level);
Level MinLevel();

// Parses "debug", "info", "warning" or "error" (as given to --log_level).
absl::StatusOr<Level> ParseLevel(absl::string_view text);

// Name of this process in every line, e.g. "rollout-0". Default: "rein".
void SetProcessName(absl::string_view name);

// Replaces stderr as the destination of finished lines (each passed without its newline);
// an empty function restores stderr. For tests.
void SetSinkForTesting(std::function<void(absl::string_view)> sink);

// One log line under construction; emitted by the destructor.
class LogMessage {
 public:
  LogMessage(Level level, absl::string_view component);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;

  std::ostream& stream() { return stream_; }

 private:
  std::string header_;  // timestamp, level, process, component: ours, never escaped
  std::ostringstream stream_;
};

namespace internal {
constexpr Level kDEBUG = Level::kDebug;
constexpr Level kINFO = Level::kInfo;
constexpr Level kWARNING = Level::kWarning;
constexpr Level kERROR = Level::kError;
}  // namespace internal

}  // namespace rein::log

// REIN_LOG(LEVEL, "component") << ...; LEVEL is DEBUG, INFO, WARNING or ERROR. The stream
// expression is not evaluated when the level is disabled.
#define REIN_LOG(level, component)                                             \
  if (::rein::log::internal::k##level < ::rein::log::MinLevel()) {             \
  } else                                                                       \
    ::rein::log::LogMessage(::rein::log::internal::k##level, component).stream()

#endif  // REIN_COMMON_LOG_LOG_H_
