#include "common/log/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rein::log {
namespace {

std::atomic<Level> g_min_level{Level::kInfo};

struct Destination {
  absl::Mutex mu;
  std::string process_name ABSL_GUARDED_BY(mu) = "rein";
  std::function<void(absl::string_view)> sink ABSL_GUARDED_BY(mu);
};

Destination& Dest() {
  static auto* dest = new Destination();  // Never destroyed: logging works during exit.
  return *dest;
}

char LevelLetter(Level level) {
  switch (level) {
    case Level::kDebug: return 'D';
    case Level::kInfo: return 'I';
    case Level::kWarning: return 'W';
    case Level::kError: return 'E';
  }
  return '?';
}

void WriteAll(int fd, absl::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) return;  // Nowhere left to report a failure to log.
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void SetMinLevel(Level level) { g_min_level.store(level, std::memory_order_relaxed); }
Level MinLevel() { return g_min_level.load(std::memory_order_relaxed); }

absl::StatusOr<Level> ParseLevel(absl::string_view text) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warning" || lower == "warn") return Level::kWarning;
  if (lower == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level '", text, "' (expected debug, info, warning or error)"));
}

void SetProcessName(absl::string_view name) {
  Destination& dest = Dest();
  absl::MutexLock lock(&dest.mu);
  dest.process_name = std::string(name);
}

void SetSinkForTesting(std::function<void(absl::string_view)> sink) {
  Destination& dest = Dest();
  absl::MutexLock lock(&dest.mu);
  dest.sink = std::move(sink);
}

LogMessage::LogMessage(Level level, absl::string_view component) {
  stream_ << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()) << ' '
          << LevelLetter(level) << ' ';
  Destination& dest = Dest();
  absl::MutexLock lock(&dest.mu);
  stream_ << dest.process_name << ' ' << component << "] ";
}

LogMessage::~LogMessage() {
  std::string line = std::move(stream_).str();
  Destination& dest = Dest();
  absl::MutexLock lock(&dest.mu);
  if (dest.sink) {
    dest.sink(line);
    return;
  }
  line.push_back('\n');
  WriteAll(STDERR_FILENO, line);
}

}  // namespace rein::log
