#include "services/feedback/quality/aggregate.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace rein::feedback::quality {
namespace {

using PC = PairwiseChoice;

Item MakeItem(std::string id, size_t responses, bool gold = false) {
  Item item;
  item.id = std::move(id);
  item.responses.resize(responses);
  item.gold = gold;
  return item;
}

Judgement Judge(std::string item, std::string annotator, Answers answers) {
  Judgement j;
  j.item_id = std::move(item);
  j.annotator_id = std::move(annotator);
  j.answers = std::move(answers);
  return j;
}

Judgement Pick(std::string item, std::string annotator, PC choice) {
  Answers a;
  a.pairwise = choice;
  return Judge(std::move(item), std::move(annotator), a);
}

Judgement Rank(std::string item, std::string annotator, std::vector<int> ranks) {
  Answers a;
  a.ranks = std::move(ranks);
  return Judge(std::move(item), std::move(annotator), a);
}

AnnotatorQuality Gold(std::string id, int judged, double score_sum) {
  AnnotatorQuality q;
  q.annotator_id = std::move(id);
  q.gold_judged = judged;
  q.gold_score_sum = score_sum;
  return q;
}

AggregateResult Run(const std::vector<Item>& items, const std::vector<Judgement>& judgements,
                    const AggregateOptions& options = {},
                    const std::vector<Annotator>& annotators = {},
                    const QualityReport& quality = {}) {
  auto result = Aggregate(items, judgements, annotators, quality, options);
  REQUIRE(result.ok());
  return *std::move(result);
}

TEST_CASE("pairwise majority: margins and what is dropped") {
  std::vector<Item> items;
  for (const char* id : {"p1", "p2", "p3", "p4", "p5", "gold"}) items.push_back(MakeItem(id, 2));
  items.back().gold = true;
  const std::vector<Judgement> judgements = {
      Pick("p1", "x", PC::kA),       Pick("p1", "y", PC::kA),       Pick("p1", "z", PC::kB),  // 2:1
      Pick("p2", "x", PC::kA),       Pick("p2", "y", PC::kA),       Pick("p2", "z", PC::kTie),
      Pick("p3", "x", PC::kA),       Pick("p3", "y", PC::kB),  // 1:1, no plurality: tie
      Pick("p4", "x", PC::kBothBad), Pick("p4", "y", PC::kBothBad), Pick("p4", "z", PC::kA),
      Pick("p5", "x", PC::kB),       Pick("p5", "y", PC::kB),       Pick("p5", "z", PC::kB),
      Pick("gold", "x", PC::kA),  // gold items are never exported
  };
  AggregateResult r = Run(items, judgements);
  REQUIRE(r.preferences.size() == 3);
  // p1: (2 - 1) / 3. p2: (2 - 0) / 3, the tie vote dilutes. p5: B over A, (3 - 0) / 3.
  CHECK(r.preferences[0].item_id == "p1");
  CHECK(r.preferences[0].chosen == 0);
  CHECK(r.preferences[0].rejected == 1);
  CHECK(r.preferences[0].margin == Approx(1.0 / 3));
  CHECK(r.preferences[0].votes == 3);
  CHECK(r.preferences[1].margin == Approx(2.0 / 3));
  CHECK(r.preferences[2].item_id == "p5");
  CHECK(r.preferences[2].chosen == 1);
  CHECK(r.preferences[2].rejected == 0);
  CHECK(r.preferences[2].margin == Approx(1.0));
  CHECK(r.dropped_tie == 1);
  CHECK(r.dropped_both_bad == 1);

  AggregateOptions strict;
  strict.min_margin = 0.5;  // p1 (1/3) falls out
  r = Run(items, judgements, strict);
  CHECK(r.preferences.size() == 2);
  CHECK(r.dropped_low_agreement == 1);
}

TEST_CASE("reliability weighting overturns a majority") {
  // Experts e1, e2 say B; p1..p3 say A.
  // Majority: A 3 vs B 2 -> A, margin (3 - 2) / 5 = 0.2.
  // Reliability, prior 0.7 worth 5 gold:
  //   experts 10/10 gold: p = (10 + 3.5) / 15 = 0.9,     w = ln(0.9 / 0.1) = ln 9 = 2.1972;
  //   others   6/10 gold: p = (6 + 3.5) / 15 = 0.6333,   w = ln(9.5 / 5.5) = 0.5465.
  //   B = 2 * 2.1972 = 4.3944 > A = 3 * 0.5465 = 1.6396 -> B,
  //   margin = (4.3944 - 1.6396) / 6.0340 = 0.4565.
  const std::vector<Item> items = {MakeItem("q", 2)};
  const std::vector<Judgement> judgements = {Pick("q", "e1", PC::kB), Pick("q", "e2", PC::kB),
                                             Pick("q", "p1", PC::kA), Pick("q", "p2", PC::kA),
                                             Pick("q", "p3", PC::kA)};
  QualityReport quality;
  quality.annotators = {Gold("e1", 10, 10), Gold("e2", 10, 10), Gold("p1", 10, 6),
                        Gold("p2", 10, 6), Gold("p3", 10, 6)};

  AggregateResult majority = Run(items, judgements, {}, {}, quality);
  REQUIRE(majority.preferences.size() == 1);
  CHECK(majority.preferences[0].chosen == 0);
  CHECK(majority.preferences[0].margin == Approx(0.2));

  AggregateOptions options;
  options.method = AggregationMethod::kReliability;
  AggregateResult reliable = Run(items, judgements, options, {}, quality);
  REQUIRE(reliable.preferences.size() == 1);
  CHECK(reliable.preferences[0].chosen == 1);
  const double w_b = 2 * std::log(9.0);
  const double w_a = 3 * std::log(9.5 / 5.5);
  CHECK(reliable.preferences[0].margin == Approx((w_b - w_a) / (w_b + w_a)));
  CHECK(reliable.preferences[0].margin == Approx(0.4565).margin(1e-4));
}

TEST_CASE("reliability weight: prior, clip at chance and at max_accuracy") {
  AggregateOptions o;
  // No gold: the prior alone, ln(0.7 / 0.3) = 0.8473.
  CHECK(ReliabilityWeight(AnnotatorQuality{}, o) == Approx(std::log(0.7 / 0.3)));
  // 0/100 gold: p = 3.5 / 105 < 0.5 -> clipped to 0.5 -> weight 0 (never negative).
  CHECK(ReliabilityWeight(Gold("w", 100, 0), o) == Approx(0.0).margin(1e-12));
  // 1000/1000: p = 1003.5 / 1005 = 0.9985 -> clipped to 0.99 -> ln 99 = 4.595.
  CHECK(ReliabilityWeight(Gold("r", 1000, 1000), o) == Approx(std::log(99.0)));
}

TEST_CASE("paused annotators do not vote") {
  // x and y say A, z and w say B: a tie, unless the paused ones are left out.
  const std::vector<Item> items = {MakeItem("q", 2)};
  const std::vector<Judgement> judgements = {Pick("q", "x", PC::kA), Pick("q", "y", PC::kA),
                                             Pick("q", "z", PC::kB), Pick("q", "w", PC::kB)};
  AggregateResult r = Run(items, judgements);
  CHECK(r.preferences.empty());
  CHECK(r.dropped_tie == 1);

  Annotator z;
  z.id = "z";
  z.paused = true;  // paused in the store
  QualityReport quality;
  quality.to_pause = {"x"};  // about to be paused: also excluded
  // Left: y A, w B -> still a tie. Pause only z: x, y A vs w B -> A, margin 1/3.
  r = Run(items, judgements, {}, {z}, quality);
  CHECK(r.excluded_paused == 2);
  CHECK(r.preferences.empty());
  r = Run(items, judgements, {}, {z});
  CHECK(r.excluded_paused == 1);
  REQUIRE(r.preferences.size() == 1);
  CHECK(r.preferences[0].chosen == 0);
  CHECK(r.preferences[0].margin == Approx(1.0 / 3));
}

TEST_CASE("synthetic judgements: excluded by default, or weighted") {
  // Human h says A; AI judges ai1, ai2 say B. ai1 is marked on its annotator record, ai2 on
  // the judgement itself.
  const std::vector<Item> items = {MakeItem("q", 2)};
  Judgement ai2 = Pick("q", "ai2", PC::kB);
  ai2.synthetic = true;
  const std::vector<Judgement> judgements = {Pick("q", "h", PC::kA), Pick("q", "ai1", PC::kB), ai2};
  Annotator ai1;
  ai1.id = "ai1";
  ai1.synthetic = true;

  // Default: humans only -> A, margin 1.
  AggregateResult r = Run(items, judgements, {}, {ai1});
  CHECK(r.excluded_synthetic == 2);
  REQUIRE(r.preferences.size() == 1);
  CHECK(r.preferences[0].chosen == 0);
  CHECK(r.preferences[0].margin == Approx(1.0));

  // Included at weight 1: B 2 vs A 1 -> B, margin 1/3.
  AggregateOptions o;
  o.include_synthetic = true;
  r = Run(items, judgements, o, {ai1});
  REQUIRE(r.preferences.size() == 1);
  CHECK(r.preferences[0].chosen == 1);
  CHECK(r.preferences[0].margin == Approx(1.0 / 3));

  // Weight 0.25: B 0.5 vs A 1 -> A, margin (1 - 0.5) / 1.5 = 1/3.
  o.synthetic_weight = 0.25;
  r = Run(items, judgements, o, {ai1});
  REQUIRE(r.preferences.size() == 1);
  CHECK(r.preferences[0].chosen == 0);
  CHECK(r.preferences[0].margin == Approx(1.0 / 3));
  CHECK(r.preferences[0].weight_total == Approx(1.5));
}

TEST_CASE("ranking consensus by mean rank, with ties and a margin") {
  const std::vector<Item> items = {MakeItem("k", 3), MakeItem("t", 3)};
  // k: ranks {1,2,3}, {1,3,2}, {2,1,3}. Means: r0 = 4/3, r1 = 6/3 = 2, r2 = 8/3 -> 1, 2, 3.
  // Margin over the strict pairs: (0,1): 2 agree, 1 not -> 1/3; (0,2): 3 agree -> 1;
  // (1,2): 2 agree, 1 not -> 1/3. Mean (1/3 + 1 + 1/3) / 3 = 5/9.
  // t: {1,1,2} twice: means 1, 1, 2 -> ranks 1, 1, 3; pairs (0,2), (1,2) agree fully -> 1.
  const std::vector<Judgement> judgements = {Rank("k", "x", {1, 2, 3}), Rank("k", "y", {1, 3, 2}),
                                             Rank("k", "z", {2, 1, 3}), Rank("t", "x", {1, 1, 2}),
                                             Rank("t", "y", {1, 1, 2})};
  AggregateResult r = Run(items, judgements);
  REQUIRE(r.rankings.size() == 2);
  const RankingConsensus& k = r.rankings[0];
  CHECK(k.mean_rank[0] == Approx(4.0 / 3));
  CHECK(k.mean_rank[1] == Approx(2.0));
  CHECK(k.mean_rank[2] == Approx(8.0 / 3));
  CHECK(k.consensus_rank == std::vector<int>{1, 2, 3});
  CHECK(k.order == std::vector<int>{0, 1, 2});
  CHECK(k.margin == Approx(5.0 / 9));
  CHECK(k.votes == 3);
  const RankingConsensus& t = r.rankings[1];
  CHECK(t.consensus_rank == std::vector<int>{1, 1, 3});
  CHECK(t.margin == Approx(1.0));
  CHECK(r.preferences.empty());  // three responses: no pairwise question

  // A consensus that ties everything carries no preference: {1,2,3} and {3,2,1} -> all 2.
  r = Run({MakeItem("u", 3)}, {Rank("u", "x", {1, 2, 3}), Rank("u", "y", {3, 2, 1})});
  CHECK(r.rankings.empty());
  CHECK(r.dropped_tie == 1);
}

TEST_CASE("mean ratings per response, malformed ratings ignored") {
  Answers a, b, bad;
  a.ratings = {4, 6};
  b.ratings = {5, 7};
  bad.ratings = {9, 1};  // 9 is out of 1..7: ignored
  AggregateResult r =
      Run({MakeItem("r", 2)}, {Judge("r", "x", a), Judge("r", "y", b), Judge("r", "z", bad)});
  REQUIRE(r.ratings.size() == 1);
  CHECK(r.ratings[0].votes == 2);
  CHECK(r.ratings[0].mean[0] == Approx(4.5));  // (4 + 5) / 2
  CHECK(r.ratings[0].mean[1] == Approx(6.5));  // (6 + 7) / 2
}

TEST_CASE("flag labels by weighted majority, categories by majority of flaggers") {
  auto flags = [](std::vector<FlagAnswer> f) {
    Answers a;
    a.flags = std::move(f);
    return a;
  };
  const FlagAnswer ok{true, {}};
  // Response 0: ok, ok, flagged{harmful} -> approved (2 vs 1), share 2/3; harmful named by
  //   1 of the flaggers' weight 1 > 1/2 -> {harmful}.
  // Response 1: flagged{incorrect, harmful}, flagged{incorrect}, ok -> flagged, share 1/3;
  //   incorrect 2 > 2/2 -> in; harmful 1 > 1 -> out.
  const std::vector<Judgement> judgements = {
      Judge("f", "x",
            flags({ok, FlagAnswer{false, {FlagCategory::kIncorrect, FlagCategory::kHarmful}}})),
      Judge("f", "y", flags({ok, FlagAnswer{false, {FlagCategory::kIncorrect}}})),
      Judge("f", "z", flags({FlagAnswer{false, {FlagCategory::kHarmful}}, ok})),
      // Item g: one approves, one flags: a tie is resolved towards flagged.
      Judge("g", "x", flags({ok, ok})),
      Judge("g", "y", flags({FlagAnswer{false, {FlagCategory::kOther}}, ok})),
  };
  AggregateResult r = Run({MakeItem("f", 2), MakeItem("g", 2)}, judgements);
  REQUIRE(r.flags.size() == 2);
  const FlagLabel& f = r.flags[0];
  CHECK(f.approved == std::vector<bool>{true, false});
  CHECK(f.approval_share[0] == Approx(2.0 / 3));
  CHECK(f.approval_share[1] == Approx(1.0 / 3));
  CHECK(f.categories[0] == std::vector<FlagCategory>{FlagCategory::kHarmful});
  CHECK(f.categories[1] == std::vector<FlagCategory>{FlagCategory::kIncorrect});
  CHECK(r.flags[1].approved == std::vector<bool>{false, true});
  CHECK(r.flags[1].categories[1].empty());
}

TEST_CASE("corrections become demonstrations, sorted, gold and empty ones skipped") {
  auto fix = [](const char* text) {
    Answers a;
    a.correction = text;
    return a;
  };
  AggregateResult r = Run({MakeItem("c", 2), MakeItem("gold", 2, true)},
                          {Judge("c", "y", fix("better answer")), Judge("c", "x", fix("mine")),
                           Judge("c", "z", fix("")), Judge("gold", "x", fix("gold fix"))});
  REQUIRE(r.corrections.size() == 2);
  CHECK(r.corrections[0].annotator_id == "x");
  CHECK(r.corrections[0].text == "mine");
  CHECK(r.corrections[1].annotator_id == "y");
  CHECK(r.corrections[1].item_id == "c");
}

TEST_CASE("Aggregate rejects bad options") {
  AggregateOptions o;
  o.synthetic_weight = -1;
  CHECK(Aggregate({}, {}, {}, {}, o).status().code() == absl::StatusCode::kInvalidArgument);
  o = {};
  o.max_accuracy = 1.0;
  CHECK(Aggregate({}, {}, {}, {}, o).status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::feedback::quality
