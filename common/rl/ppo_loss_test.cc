#include "common/rl/ppo_loss.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros_like.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "common/rl/internal/test_util.h"

namespace rein::rl {
namespace {

using testing::AllClose;
using testing::Item;
using testing::Mat;
using testing::Ok;

// Five tokens, old log-probs 0, so ρ = exp(logprobs) = [1.5, 0.5, 1.1, 0.5, 5].
at::Tensor Logp() {
  return Mat({{std::log(1.5), std::log(0.5), std::log(1.1), std::log(0.5), std::log(5.0)}});
}
at::Tensor Adv() { return Mat({{1, 1, -1, -1, -1}}); }
at::Tensor Ones5() { return Mat({{1, 1, 1, 1, 1}}); }

TEST_CASE("Clipped surrogate by hand") {
  const at::Tensor logp = Logp().requires_grad_(true);
  const PolicyLossTerms t =
      Ok(ClippedPolicyLoss(logp, at::zeros_like(logp), Adv(), Ones5(), {.clip_low = 0.2}));
  // l = max(−ρA, −clip(ρ, 0.8, 1.2)·A):
  //   ρ=1.5, A=1:  max(−1.5, −1.2) = −1.2  (clipped)
  //   ρ=0.5, A=1:  max(−0.5, −0.8) = −0.5
  //   ρ=1.1, A=−1: max(1.1, 1.1)   =  1.1
  //   ρ=0.5, A=−1: max(0.5, 0.8)   =  0.8  (clipped)
  //   ρ=5,   A=−1: max(5, 1.2)     =  5
  CHECK(AllClose(t.loss, Mat({{-1.2, -0.5, 1.1, 0.8, 5.0}}), 1e-12));
  CHECK(AllClose(t.clipped.to(at::kDouble), Mat({{1, 0, 0, 1, 0}}), 0));
  CHECK(AllClose(t.ratio, Mat({{1.5, 0.5, 1.1, 0.5, 5.0}}), 1e-12));
  // ∂l/∂log π = −A·ρ where the unclipped term is active, 0 where the clipped one is.
  t.loss.sum().backward();
  CHECK(AllClose(logp.grad(), Mat({{0, -0.5, 1.1, 0, 5.0}}), 1e-12));
}

TEST_CASE("Dual clip caps the loss of negative advantages at -c*A") {
  const at::Tensor logp = Logp().requires_grad_(true);
  const PolicyLossTerms t = Ok(ClippedPolicyLoss(logp, at::zeros_like(logp), Adv(), Ones5(),
                                                 {.clip_low = 0.2, .dual_clip = 3.0}));
  // Only ρ = 5, A = −1 exceeds the cap: min(5, −3·(−1)) = 3, and its gradient is 0.
  CHECK(AllClose(t.loss, Mat({{-1.2, -0.5, 1.1, 0.8, 3.0}}), 1e-12));
  CHECK(AllClose(t.dual_clipped.to(at::kDouble), Mat({{0, 0, 0, 0, 1}}), 0));
  t.loss.sum().backward();
  CHECK(logp.grad()[0][4].item<double>() == 0.0);
  CHECK(testing::IsInvalidNaming(
      ClippedPolicyLoss(logp, logp, Adv(), Ones5(), {.dual_clip = 0.5}).status(), "dual_clip"));
}

TEST_CASE("Clipped value loss by hand") {
  const at::Tensor v = Mat({{1.0, 2.0}});
  const at::Tensor old = Mat({{0.5, 2.0}});
  const at::Tensor ret = Mat({{2.0, 1.0}});
  // t0: (V − R)² = 1; V_clip = 0.5 + clip(0.5, ±0.2) = 0.7, (0.7 − 2)² = 1.69 → ½·1.69 = 0.845.
  // t1: (V − R)² = 1; V_clip = V → ½·1 = 0.5.
  const ValueLossTerms t = Ok(ClippedValueLoss(v, old, ret, Mat({{1, 1}}), 0.2));
  CHECK(AllClose(t.loss, Mat({{0.845, 0.5}}), 1e-12));
  CHECK(AllClose(t.clipped.to(at::kDouble), Mat({{1, 0}}), 0));
  // Unclipped: ½ (V − R)² = [0.5, 0.5].
  CHECK(AllClose(Ok(ClippedValueLoss(v, old, ret, Mat({{1, 1}}), 0.0)).loss, Mat({{0.5, 0.5}}),
                 1e-12));
}

TEST_CASE("Explained variance by hand") {
  // R = [1, 2, 3, 4], V = [1, 2, 3, 5]: Var[R − V] = 0.25 − 0.0625 = 0.1875, Var[R] = 1.25
  // → 1 − 0.15 = 0.85.
  CHECK(Ok(ExplainedVariance(Mat({{1, 2, 3, 5}}), Mat({{1, 2, 3, 4}}), Mat({{1, 1, 1, 1}}))) ==
        Approx(0.85));
  CHECK(std::isnan(Ok(ExplainedVariance(Mat({{1, 2}}), Mat({{3, 3}}), Mat({{1, 1}})))));
}

// Two sequences: row 0 has 2 real tokens, row 1 has 1.
PpoBatch SmallBatch() {
  PpoBatch b;
  b.logprobs = Mat({{std::log(1.5), std::log(0.5), 0}, {std::log(1.1), 0, 0}});
  b.old_logprobs = Mat({{0, 0, 0}, {0, 0, 0}});
  b.advantages = Mat({{1, 1, 0}, {-1, 0, 0}});
  b.mask = Mat({{1, 1, 0}, {1, 0, 0}});
  b.values = Mat({{1, 2, 0}, {0, 0, 0}});
  b.old_values = Mat({{0.5, 2, 0}, {0, 0, 0}});
  b.returns = Mat({{2, 1, 0}, {1, 0, 0}});
  b.entropy = Mat({{0.3, 0.6, 0}, {0.9, 0, 0}});
  return b;
}

TEST_CASE("PPO loss combines its terms and reports stats") {
  const PpoLossOptions opts{.value_clip = 0.2, .value_coef = 0.5, .entropy_coef = 0.01};
  const PpoLossOutput out = Ok(PpoLoss(SmallBatch(), opts));
  // Policy per token [−1.2, −0.5 | 1.1] → token mean −0.6/3 = −0.2.
  // Value per token [0.845, 0.5 | ½·1² = 0.5] → 1.845/3 = 0.615.
  // Entropy token mean (0.3 + 0.6 + 0.9)/3 = 0.6.
  // Total = −0.2 + 0.5·0.615 − 0.01·0.6 = 0.1015.
  CHECK(out.stats.policy_loss == Approx(-0.2));
  CHECK(out.stats.value_loss == Approx(0.615));
  CHECK(out.stats.entropy == Approx(0.6));
  CHECK(Item(out.loss) == Approx(0.1015));
  CHECK(out.stats.clip_fraction == Approx(1.0 / 3.0));
  CHECK(out.stats.value_clip_fraction == Approx(1.0 / 3.0));
  // approx KL = mean (ρ − 1 − ln ρ) over ρ = 1.5, 0.5, 1.1:
  //   (0.5 − 0.405465) + (−0.5 + 0.693147) + (0.1 − 0.0953102) = 0.292372 / 3 = 0.097457.
  CHECK(out.stats.approx_kl == Approx(0.0974574));
  CHECK(out.stats.ratio_max == Approx(1.5));
  CHECK_FALSE(out.stats.early_stop);

  SECTION("sequence mean weighs each sequence equally") {
    PpoLossOptions seq = opts;
    seq.aggregation = Aggregation::kSequenceMean;
    const PpoLossOutput s = Ok(PpoLoss(SmallBatch(), seq));
    // Policy: ((−1.2 − 0.5)/2 + 1.1/1)/2 = 0.125.
    CHECK(s.stats.policy_loss == Approx(0.125));
  }
  SECTION("early stop when approx KL exceeds the threshold") {
    PpoLossOptions stop = opts;
    stop.early_stop_kl = 0.05;
    CHECK(Ok(PpoLoss(SmallBatch(), stop)).stats.early_stop);
  }
  SECTION("KL as a loss term") {
    PpoLossOptions kl = opts;
    kl.kl_loss_coef = 0.1;
    PpoBatch b = SmallBatch();
    CHECK(testing::IsInvalidNaming(PpoLoss(b, kl).status(), "ref_logprobs"));
    b.ref_logprobs = b.old_logprobs;
    const PpoLossOutput k = Ok(PpoLoss(b, kl));
    // k3 with log r = log π_ref − log π = −ln ρ, so r = 1/ρ: (1/ρ − 1) + ln ρ over
    // ρ = 1.5, 0.5, 1.1 = 0.072132 + 0.306853 + 0.004401 = 0.383386, / 3 = 0.127795.
    CHECK(k.stats.kl_loss == Approx(0.1277952));
    CHECK(Item(k.loss) == Approx(0.1015 + 0.1 * 0.1277952));
  }
  SECTION("a value tensor without old values is named") {
    PpoBatch b = SmallBatch();
    b.old_values = at::Tensor();
    CHECK(testing::IsInvalidNaming(PpoLoss(b, opts).status(), "old_values"));
  }
}

TEST_CASE("Padding never changes the PPO loss or its gradients") {
  PpoBatch narrow = SmallBatch();
  narrow.logprobs = narrow.logprobs.clone().requires_grad_(true);
  narrow.values = narrow.values.clone().requires_grad_(true);
  PpoBatch wide;
  const double nan = std::nan("");
  // Two more padding columns holding NaN in every field, and an all-padding sequence.
  auto pad = [&](const at::Tensor& t, double fill) {
    const at::Tensor cols = at::cat({t.detach(), at::full({2, 2}, fill, at::kDouble)}, 1);
    return at::cat({cols, at::full({1, 5}, fill, at::kDouble)}, 0);
  };
  wide.logprobs = pad(narrow.logprobs, nan).requires_grad_(true);
  wide.old_logprobs = pad(narrow.old_logprobs, nan);
  wide.advantages = pad(narrow.advantages, nan);
  wide.mask = pad(narrow.mask, 0);
  wide.values = pad(narrow.values, nan).requires_grad_(true);
  wide.old_values = pad(narrow.old_values, nan);
  wide.returns = pad(narrow.returns, nan);
  wide.entropy = pad(narrow.entropy, nan);
  for (Aggregation agg : {Aggregation::kTokenMean, Aggregation::kSequenceMean}) {
    const PpoLossOptions opts{.entropy_coef = 0.01, .aggregation = agg};
    const PpoLossOutput a = Ok(PpoLoss(narrow, opts));
    const PpoLossOutput b = Ok(PpoLoss(wide, opts));
    CHECK(Item(a.loss) == Approx(Item(b.loss)).epsilon(1e-14));
    CHECK(a.stats.approx_kl == Approx(b.stats.approx_kl).epsilon(1e-14));
    CHECK(a.stats.explained_variance == Approx(b.stats.explained_variance).epsilon(1e-14));
    narrow.logprobs.mutable_grad() = at::Tensor();
    wide.logprobs.mutable_grad() = at::Tensor();
    a.loss.backward();
    b.loss.backward();
    CHECK(AllClose(wide.logprobs.grad().narrow(0, 0, 2).narrow(1, 0, 3), narrow.logprobs.grad(),
                   1e-14));
    CHECK(wide.logprobs.grad().isfinite().all().item<bool>());
  }
}

}  // namespace
}  // namespace rein::rl
