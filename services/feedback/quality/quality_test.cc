#include "services/feedback/quality/quality.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace rein::feedback::quality {
namespace {

Item MakeItem(std::string id, size_t responses, bool gold = false, Answers gold_answer = {}) {
  Item item;
  item.id = std::move(id);
  item.responses.resize(responses);
  item.gold = gold;
  item.gold_answer = std::move(gold_answer);
  return item;
}

Answers Pick(PairwiseChoice c) {
  Answers a;
  a.pairwise = c;
  return a;
}

Judgement Judge(std::string item, std::string annotator, Answers answers,
                std::vector<int> shown_order = {0, 1}, double seconds = 1, int64_t created_us = 0) {
  Judgement j;
  j.item_id = std::move(item);
  j.annotator_id = std::move(annotator);
  j.answers = std::move(answers);
  j.shown_order = std::move(shown_order);
  j.seconds_spent = seconds;
  j.created_us = created_us;
  return j;
}

Annotator MakeAnnotator(std::string id, bool paused = false) {
  Annotator a;
  a.id = std::move(id);
  a.paused = paused;
  return a;
}

const AnnotatorQuality& Find(const QualityReport& report, const std::string& id) {
  for (const AnnotatorQuality& q : report.annotators) {
    if (q.annotator_id == id) return q;
  }
  FAIL("no annotator " << id);
  return report.annotators.front();
}

TEST_CASE("gold accuracy and pausing") {
  using PC = PairwiseChoice;
  std::vector<Item> items;
  for (const char* id : {"g1", "g2", "g3", "g4"})
    items.push_back(MakeItem(id, 2, true, Pick(PC::kA)));
  std::vector<Judgement> judgements;
  auto judge_all = [&](const std::string& who, std::vector<PC> choices) {
    for (size_t i = 0; i < choices.size(); ++i) {
      judgements.push_back(Judge(items[i].id, who, Pick(choices[i])));
    }
  };
  judge_all("good", {PC::kA, PC::kA, PC::kA, PC::kB});  // 3/4 = 0.75 >= 0.7: stays
  judge_all("bad", {PC::kA, PC::kB, PC::kB, PC::kB});   // 1/4 = 0.25 on 4 gold: paused
  judge_all("new", {PC::kB, PC::kB});                   // 0/2, but only 2 < 3 gold: stays
  judge_all("old", {PC::kB, PC::kB, PC::kB});           // 0/3, already paused: not repeated
  QualityOptions options;
  options.min_gold_accuracy = 0.7;
  options.min_gold_judgements = 3;
  auto report = ComputeQuality(items, judgements,
                               {MakeAnnotator("good"), MakeAnnotator("bad"), MakeAnnotator("new"),
                                MakeAnnotator("old", true), MakeAnnotator("idle")},
                               options);
  REQUIRE(report.ok());
  CHECK(report->gold_items == 4);
  CHECK(Find(*report, "good").gold_accuracy == Approx(0.75));
  CHECK(Find(*report, "good").gold_judged == 4);
  CHECK(Find(*report, "bad").gold_accuracy == Approx(0.25));
  CHECK(Find(*report, "new").gold_accuracy == Approx(0.0));
  CHECK(Find(*report, "idle").judged == 0);
  CHECK_FALSE(Find(*report, "idle").gold_accuracy.has_value());
  CHECK_FALSE(Find(*report, "idle").median_seconds.has_value());
  CHECK(report->to_pause == std::vector<std::string>{"bad"});
  // The pause rule on its own, with a stricter threshold: "good" (0.75) now falls below.
  options.min_gold_accuracy = 0.8;
  CHECK(AnnotatorsToPause(report->annotators, options) == std::vector<std::string>{"bad", "good"});
}

TEST_CASE("gold accuracy of rankings, ratings and flags") {
  // g5: two responses, gold pairwise A, ratings {4, 6}, flags {approved, flagged}.
  Answers g5;
  g5.pairwise = PairwiseChoice::kA;
  g5.ratings = {4, 6};
  g5.flags = {FlagAnswer{true, {}}, FlagAnswer{false, {FlagCategory::kHarmful}}};
  // g6: three responses, gold ranks {1, 1, 3}: the best set is {0, 1}.
  Answers g6;
  g6.ranks = {1, 1, 3};
  std::vector<Item> items = {MakeItem("g5", 2, true, g5), MakeItem("g6", 3, true, g6)};

  // On g5: pairwise A = gold (1); ratings 5 vs 4 within 1, 3 vs 6 not (1/2);
  // flags approved/approved vs approved/flagged (1/2). Mean over 3 questions: 2/3.
  Answers on_g5;
  on_g5.pairwise = PairwiseChoice::kA;
  on_g5.ratings = {5, 3};
  on_g5.flags = {FlagAnswer{true, {}}, FlagAnswer{true, {}}};
  // On g6: ranks {1, 1, 2}, best set {0, 1} = gold's (1), although response 2's rank differs.
  Answers on_g6;
  on_g6.ranks = {1, 1, 2};
  // gold accuracy = (2/3 + 1) / 2 = 5/6.
  auto report = ComputeQuality(items, {Judge("g5", "m", on_g5), Judge("g6", "m", on_g6, {2, 0, 1})},
                               {}, QualityOptions{});
  REQUIRE(report.ok());
  CHECK(Find(*report, "m").gold_judged == 2);
  CHECK(*Find(*report, "m").gold_accuracy == Approx(5.0 / 6));

  // A ranking whose best set is only part of the gold's tied best set scores 0.
  Answers partial;
  partial.ranks = {1, 2, 3};
  report = ComputeQuality(items, {Judge("g6", "p", partial, {0, 1, 2})}, {}, QualityOptions{});
  REQUIRE(report.ok());
  CHECK(*Find(*report, "p").gold_accuracy == Approx(0.0));
}

TEST_CASE("agreement, position bias, time, and which judgements count") {
  using PC = PairwiseChoice;
  std::vector<Item> items = {MakeItem("n1", 2), MakeItem("n2", 2)};
  std::vector<Judgement> judgements = {
      // n1: x A, y A, z B. n2: x B, y B.
      Judge("n1", "x", Pick(PC::kA), {0, 1}, 10),  // left = 0 = A won: left win
      Judge("n2", "x", Pick(PC::kB), {1, 0}, 30),  // left = 1 = B won: left win
      // y first said B on n1 (t=1), then resubmitted A (t=2): only the latest counts.
      Judge("n1", "y", Pick(PC::kB), {1, 0}, 100, 1),
      Judge("n1", "y", Pick(PC::kA), {1, 0}, 5, 2),  // left = 1, A won: not a left win
      Judge("n2", "y", Pick(PC::kB), {0, 1}, 7),     // left = 0, B won: not a left win
      Judge("n1", "z", Pick(PC::kB), {1, 0}, 4),     // left = 1 = B won: left win
      Judge("ghost-item", "z", Pick(PC::kA)),        // unknown item: ignored, counted
  };
  Judgement draft = Judge("n2", "z", Pick(PC::kA));
  draft.status = JudgementStatus::kDraft;  // drafts do not count
  judgements.push_back(draft);

  auto report = ComputeQuality(items, judgements, {}, QualityOptions{});
  REQUIRE(report.ok());
  CHECK(report->counted_judgements == 5);
  CHECK(report->unknown_item_judgements == 1);

  // Pairs (this, other, item): x: (y,n1) agree, (z,n1) not, (y,n2) agree -> 2/3.
  // y: (x,n1) agree, (z,n1) not, (x,n2) agree -> 2/3. z: (x,n1), (y,n1), both not -> 0/2.
  const AnnotatorQuality& x = Find(*report, "x");
  const AnnotatorQuality& y = Find(*report, "y");
  const AnnotatorQuality& z = Find(*report, "z");
  CHECK(x.agreement_pairs == 3);
  CHECK(*x.agreement == Approx(2.0 / 3));
  CHECK(*y.agreement == Approx(2.0 / 3));
  CHECK(z.agreement_pairs == 2);
  CHECK(*z.agreement == Approx(0.0));

  // Position bias: 5 decisive, left won for x twice and z once: 3/5.
  CHECK(report->position_bias.decisive == 5);
  CHECK(report->position_bias.left_wins == 3);
  CHECK(*report->position_bias.left_win_rate == Approx(0.6));
  CHECK(*x.position_bias.left_win_rate == Approx(1.0));
  CHECK(y.position_bias.decisive == 2);
  CHECK(*y.position_bias.left_win_rate == Approx(0.0));
  CHECK(z.position_bias.left_wins == 1);

  // Medians: x {10, 30} -> 20; y {5, 7} -> 6 (the superseded 100 s is not counted); z {4}.
  CHECK(x.judged == 2);
  CHECK(*x.median_seconds == Approx(20));
  CHECK(*y.median_seconds == Approx(6));
  CHECK(*z.median_seconds == Approx(4));

  // Pairwise alpha, nominal, units n1 = {A, A, B} and n2 = {B, B}; n = 5.
  // Coincidences: n1 gives o_AA = 2/2, o_AB = o_BA = 2/2; n2 gives o_BB = 2. n_A = 2, n_B = 3.
  // D_o = 2/5; D_e = 2 * 2 * 3 / (5 * 4) = 3/5; alpha = 1 - (2/5) / (3/5) = 1/3.
  REQUIRE(report->alphas.size() == 4);
  const QuestionAlpha& pairwise = report->alphas[0];
  CHECK(pairwise.question == QuestionType::kPairwise);
  REQUIRE(pairwise.alpha.has_value());
  CHECK(*pairwise.alpha == Approx(1.0 / 3));
  CHECK(pairwise.pairable_values == 5);
  // Nobody ranked: alpha unavailable, with the reason.
  CHECK(report->alphas[1].question == QuestionType::kRanking);
  CHECK_FALSE(report->alphas[1].alpha.has_value());
  CHECK_FALSE(report->alphas[1].unavailable.empty());
}

TEST_CASE("ratings and flags alpha use item x response units, tie is not decisive") {
  Answers a;
  a.ratings = {1, 7};
  a.flags = {FlagAnswer{true, {}}, FlagAnswer{false, {FlagCategory::kOther}}};
  Answers tie = a;
  tie.pairwise = PairwiseChoice::kTie;
  // Units r/0 = {1, 1} and r/1 = {7, 7}: perfect agreement with variation -> alpha 1, for
  // the ratings (ordinal) and the flags (nominal, approved/flagged) alike.
  auto report = ComputeQuality({MakeItem("r", 2)}, {Judge("r", "x", a), Judge("r", "y", tie)}, {},
                               QualityOptions{});
  REQUIRE(report.ok());
  CHECK(*report->alphas[2].alpha == Approx(1.0));
  CHECK(report->alphas[2].pairable_units == 2);
  CHECK(*report->alphas[3].alpha == Approx(1.0));
  CHECK(report->position_bias.decisive == 0);
  CHECK_FALSE(report->position_bias.left_win_rate.has_value());
}

TEST_CASE("malformed answers are ignored and counted") {
  Answers bad;
  bad.ratings = {0, 9};               // out of 1..7
  bad.ranks = {1};                    // wrong length
  bad.pairwise = PairwiseChoice::kA;  // on a 3-response item
  auto report =
      ComputeQuality({MakeItem("t", 3)}, {Judge("t", "x", bad, {0, 1, 2})}, {}, QualityOptions{});
  REQUIRE(report.ok());
  CHECK(report->malformed_answers == 3);
  CHECK(report->position_bias.decisive == 0);
}

TEST_CASE("ComputeQuality rejects bad input") {
  QualityOptions options;
  options.min_gold_accuracy = 1.5;
  CHECK(ComputeQuality({}, {}, {}, options).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ComputeQuality({MakeItem("a", 2), MakeItem("a", 2)}, {}, {}, QualityOptions{})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(ComputeQuality({}, {}, {MakeAnnotator("x"), MakeAnnotator("x")}, QualityOptions{})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::feedback::quality
