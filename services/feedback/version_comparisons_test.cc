#include "services/feedback/version_comparisons.h"

#include <catch2/catch.hpp>

namespace rein::feedback {
namespace {

Item VersionedItem(const std::string& id, int64_t first, int64_t second, bool gold = false) {
  Item item;
  item.id = id;
  item.gold = gold;
  item.responses = {{"one", {}}, {"two", {}}};
  item.responses[0].provenance.policy_version = first;
  item.responses[1].provenance.policy_version = second;
  return item;
}

Judgement Pick(const std::string& item, const std::string& annotator, PairwiseChoice choice,
               bool synthetic = false) {
  Judgement j;
  j.item_id = item;
  j.annotator_id = annotator;
  j.answers.pairwise = choice;
  j.synthetic = synthetic;
  return j;
}

TEST_CASE("only submitted pairwise judgements between two known, different versions count") {
  CampaignData data;
  data.items = {VersionedItem("a", 3, 7), VersionedItem("b", 7, 3), VersionedItem("same", 3, 3),
                VersionedItem("unknown", -1, 7), VersionedItem("gold", 3, 7, true)};
  data.judgements = {Pick("a", "ann", PairwiseChoice::kB),   // 7 beats 3
                     Pick("b", "ann", PairwiseChoice::kA),   // 7 beats 3
                     Pick("b", "bob", PairwiseChoice::kBothBad),
                     Pick("same", "ann", PairwiseChoice::kA),
                     Pick("unknown", "ann", PairwiseChoice::kA),
                     Pick("gold", "ann", PairwiseChoice::kA),
                     Pick("a", "paused", PairwiseChoice::kA),
                     Pick("a", "bot", PairwiseChoice::kA, /*synthetic=*/true)};
  Judgement skipped = Pick("a", "ann", PairwiseChoice::kA);
  skipped.status = JudgementStatus::kSkipped;
  data.judgements.push_back(skipped);

  const VersionComparisons found = CollectVersionComparisons(data, {"paused"}, false);
  CHECK(found.versions == std::vector<int64_t>{3, 7});
  REQUIRE(found.comparisons.size() == 3);
  CHECK(found.comparisons[0].first == 0);  // item a: version 3 first
  CHECK(found.comparisons[0].outcome == 0.0);
  CHECK(found.comparisons[1].first == 1);  // item b: version 7 first, and it won
  CHECK(found.comparisons[1].outcome == 1.0);
  CHECK(found.comparisons[2].outcome == 0.5);  // both bad is a tie
  CHECK(CollectVersionComparisons(data, {"paused"}, true).comparisons.size() == 4);

  auto rated = RateCampaignVersions(data, {"paused"}, false, {.bootstrap_samples = 0});
  REQUIRE(rated.ok());
  REQUIRE(rated->size() == 2);
  CHECK((*rated)[0].policy_version == 3);
  CHECK((*rated)[0].rating.elo == 0);
  CHECK((*rated)[1].rating.elo > 0);  // 2.5 of 3 for version 7
  CHECK((*rated)[1].rating.wins == 2.5);
}

TEST_CASE("versions of several campaigns are rated together on one scale") {
  // Round 2 compares v0 with v4; round 3 compares v4 with v8 and v0 with v8.
  VersionComparisons round2{{0, 4}, {{0, 1, 0.0}, {1, 0, 1.0}, {0, 1, 0.0}}};
  VersionComparisons round3{{0, 4, 8}, {{1, 2, 0.0}, {2, 1, 1.0}, {0, 2, 0.0}}};
  auto pooled = RatePooledVersions({round2, round3}, {.bootstrap_samples = 0});
  REQUIRE(pooled.ok());
  REQUIRE(pooled->size() == 3);
  CHECK((*pooled)[0].policy_version == 0);
  CHECK((*pooled)[1].policy_version == 4);
  CHECK((*pooled)[2].policy_version == 8);
  CHECK((*pooled)[1].rating.games == 5);  // 3 against v0, 2 against v8
  CHECK((*pooled)[0].rating.elo < (*pooled)[1].rating.elo);
  CHECK((*pooled)[1].rating.elo < (*pooled)[2].rating.elo);
  // One campaign alone is that campaign's table; none gives nothing.
  auto alone = RatePooledVersions({round2}, {.bootstrap_samples = 0});
  REQUIRE(alone.ok());
  CHECK(alone->size() == 2);
  CHECK(RatePooledVersions({}, {}).value().empty());
}

}  // namespace
}  // namespace rein::feedback
