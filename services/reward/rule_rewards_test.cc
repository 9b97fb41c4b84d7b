#include "services/reward/rule_rewards.h"

#include <catch2/catch.hpp>

namespace rein::reward {
namespace {

TEST_CASE("the length penalty is minus the relative deviation from the target") {
  CHECK(LengthPenalty(96, 96) == 0.0);
  CHECK(LengthPenalty(48, 96) == -0.5);
  CHECK(LengthPenalty(144, 96) == -0.5);
  CHECK(LengthPenalty(0, 96) == -1.0);
  CHECK(LengthPenalty(5, 4) == -0.25);
}

TEST_CASE("the regex rule is 1 for a match anywhere in the text and 0 otherwise") {
  auto rule = RegexRule::Create("\\bworld\\b");
  REQUIRE(rule.ok());
  CHECK(*(*rule)->Score("hello world!") == 1.0);
  CHECK(*(*rule)->Score("hello worlds") == 0.0);
  CHECK(*(*rule)->Score("") == 0.0);
}

TEST_CASE("a malformed or empty regex pattern is INVALID_ARGUMENT") {
  CHECK(RegexRule::Create("(unclosed").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(RegexRule::Create("").status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::reward
