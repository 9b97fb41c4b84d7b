// Rule-based reward components, each computed unweighted (the service applies the weights):
//
//   length_penalty = -|response_tokens - target_tokens| / target_tokens
//     0 at the target, -1 at twice the target or an empty response: the relative deviation
//     from the target length, whichever side.
//   regex = 1 if the decoded response contains a match of the pattern, else 0
//     (ECMAScript syntax, std::regex_search over the UTF-8 bytes of the text).
//
// Thread safety: LengthPenalty is a pure function; a RegexRule's methods are const and may run
// concurrently.
#ifndef REIN_SERVICES_REWARD_RULE_REWARDS_H_
#define REIN_SERVICES_REWARD_RULE_REWARDS_H_

#include <cstdint>
#include <memory>
#include <regex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rein::reward {

// See the file comment. `target_tokens` must be > 0.
double LengthPenalty(int64_t response_tokens, int64_t target_tokens);

class RegexRule {
 public:
  // INVALID_ARGUMENT (with the regex error) for an empty or malformed pattern.
  static absl::StatusOr<std::unique_ptr<RegexRule>> Create(const std::string& pattern);
  RegexRule(const RegexRule&) = delete;
  RegexRule& operator=(const RegexRule&) = delete;

  // 1 if `text` contains a match, else 0. INTERNAL if the regex engine gives up (e.g. its
  // complexity limit on a pathological pattern).
  absl::StatusOr<double> Score(absl::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  RegexRule(std::string pattern, std::regex regex)
      : pattern_(std::move(pattern)), regex_(std::move(regex)) {}

  const std::string pattern_;
  const std::regex regex_;
};

}  // namespace rein::reward

#endif  // REIN_SERVICES_REWARD_RULE_REWARDS_H_
