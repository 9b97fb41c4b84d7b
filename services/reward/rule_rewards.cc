#include "services/reward/rule_rewards.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace rein::reward {

double LengthPenalty(int64_t response_tokens, int64_t target_tokens) {
  // -|len - target| / target: the relative deviation from the target length.
  return -static_cast<double>(std::llabs(response_tokens - target_tokens)) /
         static_cast<double>(target_tokens);
}

absl::StatusOr<std::unique_ptr<RegexRule>> RegexRule::Create(const std::string& pattern) {
  if (pattern.empty()) return absl::InvalidArgumentError("regex rule: the pattern is empty");
  try {
    std::regex regex(pattern, std::regex::ECMAScript);
    return std::unique_ptr<RegexRule>(new RegexRule(pattern, std::move(regex)));
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("regex rule: bad pattern \"", pattern, "\": ", e.what()));
  }
}

absl::StatusOr<double> RegexRule::Score(absl::string_view text) const {
  try {
    return std::regex_search(text.begin(), text.end(), regex_) ? 1.0 : 0.0;
  } catch (const std::regex_error& e) {
    return absl::InternalError(
        absl::StrCat("regex rule \"", pattern_, "\" failed on a response: ", e.what()));
  }
}

}  // namespace rein::reward
