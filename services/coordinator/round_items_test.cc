#include "services/coordinator/round_items.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"

namespace rein::coordinator {
namespace {

const PolicyRef kSft{"/models/sft", 0, "sft"};

TEST_CASE("a round judges the current policy against the previous round's and the SFT policy") {
  CHECK(EarlierPolicies(1, kSft, kSft).empty());  // two samples of the starting policy
  CHECK(EarlierPolicies(2, kSft, kSft) == std::vector<PolicyRef>{kSft});
  const PolicyRef iter50{"/run/checkpoints/iter-50/learner/policy", 50, "iter-50"};
  CHECK(EarlierPolicies(3, kSft, iter50) == std::vector<PolicyRef>{iter50, kSft});
  CHECK(EarlierPolicies(4, kSft, kSft) == std::vector<PolicyRef>{kSft});  // no duplicate
}

TEST_CASE("round seeds depend on the run seed, round, prompt and side only") {
  CHECK(RoundSeed(1, 2, 7, 0) == RoundSeed(1, 2, 7, 0));
  std::set<uint64_t> seen;
  for (uint64_t seed : {1, 2}) {
    for (uint32_t round : {1u, 2u}) {
      for (uint64_t prompt : {0, 1, 2}) {
        for (int side : {0, 1}) seen.insert(RoundSeed(seed, round, prompt, side));
      }
    }
  }
  CHECK(seen.size() == 24);
}

RoundPair Pair(uint64_t index) {
  RoundPair pair;
  pair.prompt_index = index;
  pair.prompt = "prompt";
  pair.text[0] = "current";
  pair.text[1] = "earlier";
  pair.policy[0] = {"", 12, "current"};
  pair.policy[1] = kSft;
  pair.seed[0] = RoundSeed(1, 2, index, 0);
  pair.seed[1] = RoundSeed(1, 2, index, 1);
  return pair;
}

TEST_CASE("a round's item carries both responses with their provenance, in a seeded order") {
  int current_first = 0;
  for (uint64_t index = 0; index < 200; ++index) {
    const rein::v1::Item item = RoundItem(2, Pair(index), R"({"temperature":1})");
    CHECK(item.external_id() == absl::StrCat("round-2-prompt-", index));
    CHECK(item.prompt() == "prompt");
    REQUIRE(item.responses_size() == 2);
    const bool first_is_current = item.responses(0).text() == "current";
    current_first += first_is_current ? 1 : 0;
    const rein::v1::ItemResponse& current = item.responses(first_is_current ? 0 : 1);
    const rein::v1::ItemResponse& earlier = item.responses(first_is_current ? 1 : 0);
    CHECK(current.provenance().policy_version() == 12);
    CHECK(current.provenance().model() == "current");
    CHECK(current.provenance().seed() == Pair(index).seed[0]);
    CHECK(earlier.text() == "earlier");
    CHECK(earlier.provenance().policy_version() == 0);
    CHECK(earlier.provenance().model() == "sft");
    CHECK(earlier.provenance().sampling_json() == R"({"temperature":1})");
    // The same pair always gives the same item.
    CHECK(RoundItem(2, Pair(index), "{}").responses(0).text() == item.responses(0).text());
  }
  // Position carries no version signal: the current policy is shown first about half the time.
  CHECK(current_first > 70);
  CHECK(current_first < 130);
}

TEST_CASE("held-out lines are chosen by their own text, the same way every time") {
  std::string jsonl;
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&jsonl, R"({"prompt":"p)", i, R"("})", "\n");
  const SplitLines split = SplitHeldout(jsonl, 0.2, 7);
  CHECK(split.train.size() + split.heldout.size() == 1000);
  CHECK(split.heldout.size() > 150);
  CHECK(split.heldout.size() < 250);
  // A line's side does not depend on the other lines: the first half alone splits the same.
  const SplitLines half = SplitHeldout(jsonl.substr(0, jsonl.size() / 2), 0.2, 7);
  for (const std::string& line : half.heldout) {
    CHECK(std::find(split.heldout.begin(), split.heldout.end(), line) != split.heldout.end());
  }
  CHECK(SplitHeldout(jsonl, 0.0, 7).heldout.empty());
  // A tiny export still holds one line out, always the same one.
  const std::string two = "{\"a\":1}\n{\"a\":2}\n";
  const SplitLines tiny = SplitHeldout(two, 0.01, 7);
  CHECK(tiny.heldout.size() == 1);
  CHECK(tiny.train.size() == 1);
  CHECK(SplitHeldout(two, 0.01, 7).heldout == tiny.heldout);
  CHECK(SplitHeldout(jsonl, 0.2, 8).heldout != split.heldout);  // the salt matters
}

}  // namespace
}  // namespace rein::coordinator
