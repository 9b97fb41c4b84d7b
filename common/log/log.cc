#include "common/log/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

std::string Sanitized(absl::string_view text, size_t max_bytes) {
  size_t keep = std::min(text.size(), max_bytes);
  // Back up to the start of a UTF-8 character rather than cut one in two.
  while (keep > 0 && keep < text.size() &&
         (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) {
    --keep;
  }
  std::string out;
  out.reserve(keep + 16);
  for (size_t i = 0; i < keep; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else if (c == 0xE2 && i + 2 < keep && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(text[i + 2]) == 0xA8 ||
                static_cast<unsigned char>(text[i + 2]) == 0xA9)) {
      out += static_cast<unsigned char>(text[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (keep < text.size()) absl::StrAppend(&out, "…(", text.size() - keep, " more bytes)");
  return out;
}

LogMessage::LogMessage(Level level, absl::string_view component) {
  header_ = absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ",
      std::string(1, LevelLetter(level)), " ");
  Destination& dest = Dest();
  absl::MutexLock lock(&dest.mu);
  absl::StrAppend(&header_, dest.process_name, " ", component, "] ");
}

LogMessage::~LogMessage() {
  std::string line = header_ + Sanitized(std::move(stream_).str());
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
