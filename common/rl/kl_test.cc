#include "common/rl/kl.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "common/rl/internal/test_util.h"

namespace rein::rl {
namespace {

using testing::Item;
using testing::Mat;
using testing::Ok;

// Two tokens with π = [½, ¼] and π_ref = [¼, ½]: log r = log π_ref − log π = [−ln 2, ln 2].
at::Tensor Logp() { return Mat({{std::log(0.5), std::log(0.25)}}); }
at::Tensor RefLogp() { return Mat({{std::log(0.25), std::log(0.5)}}); }
at::Tensor Ones() { return Mat({{1, 1}}); }
const double kLn2 = std::log(2.0);

TEST_CASE("KL estimators k1, k2, k3 by hand") {
  // k1 = −log r = [ln 2, −ln 2].
  const at::Tensor k1 = Ok(KlPenalty(Logp(), RefLogp(), Ones(), KlEstimator::kK1));
  CHECK(k1[0][0].item<double>() == Approx(kLn2));
  CHECK(k1[0][1].item<double>() == Approx(-kLn2));
  // k2 = ½ (log r)² = ½ ln²2 = 0.240227 for both.
  const at::Tensor k2 = Ok(KlPenalty(Logp(), RefLogp(), Ones(), KlEstimator::kK2));
  CHECK(k2[0][0].item<double>() == Approx(0.5 * kLn2 * kLn2));
  CHECK(k2[0][1].item<double>() == Approx(0.5 * kLn2 * kLn2));
  // k3 = (r − 1) − log r: r = ½ → −½ + ln 2 = 0.193147; r = 2 → 1 − ln 2 = 0.306853.
  const at::Tensor k3 = Ok(KlPenalty(Logp(), RefLogp(), Ones(), KlEstimator::kK3));
  CHECK(k3[0][0].item<double>() == Approx(0.1931471806));
  CHECK(k3[0][1].item<double>() == Approx(0.3068528194));
  // Masked tokens are 0 whatever their log-probs.
  const at::Tensor masked = Ok(KlPenalty(Logp(), RefLogp(), Mat({{1, 0}}), KlEstimator::kK3));
  CHECK(masked[0][1].item<double>() == 0.0);
}

TEST_CASE("KlLoss is differentiable in the policy log-probs") {
  const at::Tensor logp = Logp().clone().requires_grad_(true);
  const at::Tensor loss = Ok(KlLoss(logp, RefLogp(), Ones(), KlEstimator::kK3));
  // Token mean of k3 = (0.193147 + 0.306853) / 2 = 0.25.
  CHECK(Item(loss) == Approx(0.25));
  loss.backward();
  // ∂k3/∂log π = 1 − r: r = ½ → ½, r = 2 → −1; the token mean halves both.
  CHECK(logp.grad()[0][0].item<double>() == Approx(0.25));
  CHECK(logp.grad()[0][1].item<double>() == Approx(-0.5));
}

TEST_CASE("Token rewards: score at the last real token minus beta times KL") {
  const at::Tensor ref = Mat({{0, 0, 0}, {0, 0, 0}});
  // log π − log π_ref = k1 per token; position (0, 2) is padding.
  const at::Tensor logp = Mat({{0.2, 0.4, 9.0}, {0.1, -0.3, 0.5}});
  const at::Tensor mask = Mat({{1, 1, 0}, {1, 1, 1}});
  const TokenRewards r = Ok(ComputeTokenRewards(testing::Vec({1.0, 2.0}), logp, ref, mask, 0.1));
  // Row 0: [−0.1·0.2, 1 − 0.1·0.4, 0]; row 1: [−0.1·0.1, +0.1·0.3, 2 − 0.1·0.5].
  CHECK(r.rewards[0][0].item<double>() == Approx(-0.02));
  CHECK(r.rewards[0][1].item<double>() == Approx(0.96));
  CHECK(r.rewards[0][2].item<double>() == 0.0);
  CHECK(r.rewards[1][0].item<double>() == Approx(-0.01));
  CHECK(r.rewards[1][1].item<double>() == Approx(0.03));
  CHECK(r.rewards[1][2].item<double>() == Approx(1.95));
  // Mean over sequences of Σ_t kl: ((0.2 + 0.4) + (0.1 − 0.3 + 0.5)) / 2 = 0.45.
  CHECK(r.mean_sequence_kl == Approx(0.45));

  SECTION("left padding puts the score on the last real token too") {
    const TokenRewards left = Ok(ComputeTokenRewards(testing::Vec({1.0}), Mat({{9, 0.2, 0.4}}),
                                                     Mat({{0, 0, 0}}), Mat({{0, 1, 1}}), 0.1));
    CHECK(left.rewards[0][0].item<double>() == 0.0);
    CHECK(left.rewards[0][1].item<double>() == Approx(-0.02));
    CHECK(left.rewards[0][2].item<double>() == Approx(0.96));
  }
  SECTION("a sequence without response tokens is an error") {
    const auto bad = ComputeTokenRewards(testing::Vec({1.0, 2.0}), logp, ref,
                                         Mat({{1, 1, 0}, {0, 0, 0}}), 0.1);
    CHECK(testing::IsInvalidNaming(bad.status(), "sequence 1"));
  }
  SECTION("scores of the wrong length are named") {
    CHECK(testing::IsInvalidNaming(
        ComputeTokenRewards(testing::Vec({1.0}), logp, ref, mask, 0.1).status(), "scores"));
  }
}

TEST_CASE("Padding never changes token rewards or the KL loss") {
  const double nan = std::nan("");
  const at::Tensor logp = Mat({{0.2, 0.4}, {0.1, -0.3}});
  const at::Tensor ref = Mat({{0.5, 0.1}, {-0.2, 0.3}});
  // The same tokens with a padding column first and last, NaN there.
  const at::Tensor plogp = Mat({{nan, 0.2, 0.4, nan}, {nan, 0.1, -0.3, nan}});
  const at::Tensor pref = Mat({{nan, 0.5, 0.1, nan}, {nan, -0.2, 0.3, nan}});
  const at::Tensor pmask = Mat({{0, 1, 1, 0}, {0, 1, 1, 0}});
  for (KlEstimator e : {KlEstimator::kK1, KlEstimator::kK2, KlEstimator::kK3}) {
    const TokenRewards a =
        Ok(ComputeTokenRewards(testing::Vec({1, 2}), logp, ref, Mat({{1, 1}, {1, 1}}), 0.1, e));
    const TokenRewards b =
        Ok(ComputeTokenRewards(testing::Vec({1, 2}), plogp, pref, pmask, 0.1, e));
    CHECK(testing::AllClose(b.rewards.narrow(1, 1, 2), a.rewards, 1e-15));
    CHECK(b.rewards.isfinite().all().item<bool>());
    CHECK(b.mean_sequence_kl == Approx(a.mean_sequence_kl));
    for (Aggregation agg : {Aggregation::kTokenMean, Aggregation::kSequenceMean}) {
      CHECK(Item(Ok(KlLoss(plogp, pref, pmask, e, agg))) ==
            Approx(Item(Ok(KlLoss(logp, ref, Mat({{1, 1}, {1, 1}}), e, agg)))));
    }
  }
}

TEST_CASE("Fixed KL controller keeps its coefficient") {
  KlController c = Ok(KlController::Create({.adaptive = false, .init_coef = 0.2}));
  REQUIRE(c.Update(100.0, 64).ok());
  CHECK(c.coef() == 0.2);
}

TEST_CASE("Adaptive KL controller follows Ziegler et al.") {
  KlController c = Ok(KlController::Create(
      {.adaptive = true, .init_coef = 0.1, .target_kl = 6.0, .horizon = 10000.0}));
  // KL 9 > 6: e = clip(3/6, ±0.2) = 0.2; β = 0.1·(1 + 0.2·256/10000) = 0.100512.
  REQUIRE(c.Update(9.0, 256).ok());
  CHECK(c.coef() == Approx(0.100512));
  // KL 5.4 < 6: e = −0.1; β = 0.100512·(1 − 0.1·256/10000) = 0.10025468928.
  REQUIRE(c.Update(5.4, 256).ok());
  CHECK(c.coef() == Approx(0.10025468928));
  CHECK_FALSE(c.Update(std::nan(""), 256).ok());
  CHECK(c.coef() == Approx(0.10025468928));
  CHECK(testing::IsInvalidNaming(
      KlController::Create({.adaptive = true, .target_kl = 0}).status(), "target_kl"));
  CHECK(testing::IsInvalidNaming(
      KlController::Create({.adaptive = true, .horizon = -1}).status(), "horizon"));
}

}  // namespace
}  // namespace rein::rl
