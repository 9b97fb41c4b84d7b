#include "common/rl/preference.h"

#include <ATen/ops/randn.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "common/rl/internal/test_util.h"

namespace rein::rl {
namespace {

using testing::AllClose;
using testing::Item;
using testing::Mat;
using testing::Ok;
using testing::Vec;

// −log σ(1) = 0.313262, −log σ(−1) = 1.313262, −log σ(0.5) = 0.474077, −log σ(2) = 0.126928.
constexpr double kNls1 = 0.3132616875;
constexpr double kNlsMinus1 = 1.3132616875;
constexpr double kNlsHalf = 0.4740769842;
constexpr double kNls2 = 0.1269280110;

TEST_CASE("Bradley-Terry loss by hand, with margin and ties") {
  const at::Tensor chosen = Vec({2, 0}).requires_grad_(true);
  const at::Tensor rejected = Vec({1, 1});
  // d = [1, −1]: l = −log σ(d) = [0.313262, 1.313262], mean 0.813262.
  const at::Tensor plain = Ok(BradleyTerryLoss({chosen, rejected}));
  CHECK(Item(plain) == Approx((kNls1 + kNlsMinus1) / 2));
  // ∂l/∂chosen = −σ(−d)/N: −(1 − σ(1))/2 = −0.134471, −(1 − σ(−1))/2 = −0.365529.
  plain.backward();
  CHECK(AllClose(chosen.grad(), Vec({-0.1344707, -0.3655293}), 1e-6));
  // Margin [0.5, 0]: −log σ(1 − 0.5) = 0.474077 → (0.474077 + 1.313262)/2.
  CHECK(Item(Ok(BradleyTerryLoss({chosen, rejected, Vec({0.5, 0})}))) ==
        Approx((kNlsHalf + kNlsMinus1) / 2));
  // Pair 1 a tie: −½[log σ(−1) + log σ(1)] = 0.813262 → (0.313262 + 0.813262)/2.
  CHECK(Item(Ok(BradleyTerryLoss({chosen, rejected, {}, Vec({0, 1})}))) ==
        Approx((kNls1 + (kNls1 + kNlsMinus1) / 2) / 2));
  // Normalizer 4 instead of N = 2.
  CHECK(Item(Ok(BradleyTerryLoss({chosen, rejected}, 4))) == Approx((kNls1 + kNlsMinus1) / 4));
  CHECK(testing::IsInvalidNaming(BradleyTerryLoss({chosen, Vec({1})}).status(), "rejected"));
}

TEST_CASE("Plackett-Luce loss by hand") {
  // Ranking s = [3, 1, 2]: l = −[(3 − log(e³ + e¹ + e²)) + (1 − log(e¹ + e²)) + 0]
  //                          = 0.407606 + 1.313262 = 1.720868.
  CHECK(Item(Ok(PlackettLuceLoss(Mat({{3, 1, 2}})))) == Approx(1.7208676289));
  // Only two valid items [3, 1]: −(3 − log(e³ + e¹)) = −log σ(2) = 0.126928.
  CHECK(Item(Ok(PlackettLuceLoss(Mat({{3, 1, 7}}), Mat({{1, 1, 0}})))) == Approx(kNls2));
  // A list with one valid item does not count: the mean is over the first list only.
  CHECK(Item(Ok(PlackettLuceLoss(Mat({{3, 1, 7}, {1, 2, 3}}), Mat({{1, 1, 0}, {1, 0, 0}})))) ==
        Approx(kNls2));
}

TEST_CASE("Plackett-Luce with K = 2 equals Bradley-Terry") {
  const at::Tensor s = at::randn({16, 2}, at::kDouble).requires_grad_(true);
  const at::Tensor pl = Ok(PlackettLuceLoss(s));
  const at::Tensor bt = Ok(BradleyTerryLoss({s.select(1, 0), s.select(1, 1)}));
  CHECK(Item(pl) == Approx(Item(bt)).epsilon(1e-12));
  pl.backward();
  const at::Tensor grad_pl = s.grad().clone();
  s.mutable_grad() = at::Tensor();
  bt.backward();
  CHECK(AllClose(grad_pl, s.grad(), 1e-12));
}

TEST_CASE("All-pairs Bradley-Terry over a ranking by hand") {
  // [3, 1, 2]: pairs (3,1) d=2, (3,2) d=1, (1,2) d=−1 → (0.126928 + 0.313262 + 1.313262)/3.
  CHECK(Item(Ok(AllPairsBradleyTerryLoss(Mat({{3, 1, 2}})))) ==
        Approx((kNls2 + kNls1 + kNlsMinus1) / 3));
  // Invalid third item: only the pair (3, 1).
  CHECK(Item(Ok(AllPairsBradleyTerryLoss(Mat({{3, 1, 2}}), Mat({{1, 1, 0}})))) == Approx(kNls2));
}

TEST_CASE("Binary reward loss of unpaired feedback by hand") {
  const at::Tensor scores = Vec({1, 1, -2}).requires_grad_(true);
  // Approved r = 1: −log σ(1); flagged r = 1: −log σ(−1); flagged r = −2: −log σ(2).
  const at::Tensor loss = Ok(BinaryRewardLoss(scores, Vec({1, 0, 0})));
  CHECK(Item(loss) == Approx((kNls1 + kNlsMinus1 + kNls2) / 3));
  // ∂l/∂r = (σ(r) − y)/N: (0.731059 − 1)/3, 0.731059/3, 0.119203/3.
  loss.backward();
  CHECK(AllClose(scores.grad(), Vec({-0.0896471, 0.2436862, 0.0397343}), 1e-6));
  // Bool labels, and a normalizer (the whole batch's example count) instead of N.
  const at::Tensor labels = Vec({1, 0, 0}).to(at::kBool);
  CHECK(Item(Ok(BinaryRewardLoss(scores, labels, 6))) ==
        Approx((kNls1 + kNlsMinus1 + kNls2) / 6));
  // Equal to Bradley–Terry against a reward of 0: approval is "better than neutral".
  CHECK(Item(Ok(BinaryRewardLoss(scores, Vec({1, 1, 1})))) ==
        Approx(Item(Ok(BradleyTerryLoss({scores, Vec({0, 0, 0})})))));
  CHECK(Ok(BinaryRewardLoss(Vec({50, -50}), Vec({1, 0}))).isfinite().item<bool>());
  CHECK(BinaryRewardLoss(scores, Vec({1, 0})).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(BinaryRewardLoss(scores, Vec({1, 2, 0})).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(BinaryRewardLoss(Vec({}), Vec({})).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Ratings become pairs by score difference") {
  // Row 0: [5, 3, 5, invalid]; row 1: [1, 2, invalid, invalid]. margin = 0.5·|gap|.
  const RatingPairs p = Ok(RatingsToPairs(Mat({{5, 3, 5, 9}, {1, 2, 0, 0}}),
                                          Mat({{1, 1, 1, 0}, {1, 1, 0, 0}}),
                                          {.margin_scale = 0.5}));
  // (0,1): gap 2 → 0 beats 1, margin 1; (0,2): gap 0 → tie; (1,2): gap −2 → 2 beats 1;
  // row 1 (flat 4, 5): gap −1 → 5 beats 4, margin 0.5.
  REQUIRE(p.chosen_index.size(0) == 4);
  CHECK(AllClose(p.chosen_index.to(at::kDouble), Vec({0, 0, 2, 5}), 0));
  CHECK(AllClose(p.rejected_index.to(at::kDouble), Vec({1, 2, 1, 4}), 0));
  CHECK(AllClose(p.margin, Vec({1, 0, 1, 0.5}), 0));
  CHECK(AllClose(p.tie.to(at::kDouble), Vec({0, 1, 0, 0}), 0));
  // Dropping ties, and a wider tie band (|gap| <= 1 makes the row-1 pair a tie).
  const RatingPairs q = Ok(RatingsToPairs(Mat({{5, 3, 5, 9}, {1, 2, 0, 0}}),
                                          Mat({{1, 1, 1, 0}, {1, 1, 0, 0}}),
                                          {.tie_threshold = 1.0, .keep_ties = false}));
  CHECK(AllClose(q.chosen_index.to(at::kDouble), Vec({0, 2}), 0));
}

TEST_CASE("Preference accuracy and calibration stats by hand") {
  // d = [1, −1, 0] on decided pairs, and one tie with d = 0.
  const PreferenceStats s = Ok(ComputePreferenceStats(
      {Vec({2, 0, 1, 0.5}), Vec({1, 1, 1, 0.5}), {}, Vec({0, 0, 0, 1})}, 2));
  CHECK(s.pairs == 4);
  CHECK(s.ties == 1);
  // Right, wrong, half: (1 + 0 + ½)/3.
  CHECK(s.accuracy == Approx(0.5));
  CHECK(s.mean_gap == Approx(0.0));
  // p = σ(d) = [0.731059, 0.268941, 0.5]; confidences [0.731059, 0.731059, 0.5] all in bin
  // [0.5, 0.75): mean confidence 0.654039, accuracy 0.5 → ECE = 0.154039.
  REQUIRE(s.bins.size() == 2);
  CHECK(s.bins[0].count == 3);
  CHECK(s.bins[1].count == 0);
  CHECK(s.bins[0].mean_confidence == Approx(0.6540391));
  CHECK(s.ece == Approx(0.1540391));
  // Brier: ((1 − 0.731059)² + (1 − 0.268941)² + (1 − 0.5)² + (0.5 − 0.5)²)/4 = 0.214194.
  CHECK(s.brier == Approx(0.2141940));
  // Log loss: (0.313262 + 1.313262 + ln 2 + ln 2)/4 = 0.753204.
  CHECK(s.log_loss == Approx((kNls1 + kNlsMinus1 + 2 * std::log(2.0)) / 4));
}

}  // namespace
}  // namespace rein::rl
