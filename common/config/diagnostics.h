// Where a config document's keys are and what is wrong with it: the two records a parse
// produces besides the values themselves.
#ifndef REIN_COMMON_CONFIG_DIAGNOSTICS_H_
#define REIN_COMMON_CONFIG_DIAGNOSTICS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rein::config {

// The 1-based line on which each key of a parsed document was written, by dotted path
// ("learner.ranks"). Cross-field checks use it to point at the key the user wrote.
class KeyLines {
 public:
  void Record(absl::string_view path, int line) { lines_[std::string(path)] = line; }
  // 0 when the key was not in the document (its value is the default).
  int LineOf(absl::string_view path) const {
    auto it = lines_.find(path);
    return it == lines_.end() ? 0 : it->second;
  }

 private:
  absl::flat_hash_map<std::string, int> lines_;
};

// The errors found in one config document, in the order found.
class Diagnostics {
 public:
  // More than this many errors usually means the wrong file; the rest are counted, not listed.
  static constexpr size_t kMaxListed = 20;

  explicit Diagnostics(absl::string_view source) : source_(source) {}

  // Records "SOURCE:LINE: message", or "SOURCE: message" when `line` is 0.
  void Add(int line, absl::string_view message);
  bool empty() const { return count_ == 0; }
  // OK when empty; otherwise INVALID_ARGUMENT whose message lists the errors one per line.
  absl::Status ToStatus() const;

 private:
  std::string source_;
  std::vector<std::string> listed_;
  size_t count_ = 0;
};

}  // namespace rein::config

#endif  // REIN_COMMON_CONFIG_DIAGNOSTICS_H_
