#include "common/rl/sft_dpo.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "common/rl/internal/test_util.h"

namespace rein::rl {
namespace {

using testing::AllClose;
using testing::Item;
using testing::Mat;
using testing::Ok;
using testing::Vec;

TEST_CASE("SFT loss masks the prompt") {
  // Every position has logits [0, ln 3] → p = [¼, ¾]. Position 0 is prompt (mask 0); targets at
  // positions 1, 2 are 0 and 1: l = [−ln ¼, −ln ¾] = [1.386294, 0.287682], mean 0.836988.
  const at::Tensor logits =
      Vec({0, std::log(3.0), 0, std::log(3.0), 0, std::log(3.0)}).reshape({1, 3, 2});
  logits.requires_grad_(true);
  const at::Tensor targets = at::tensor(std::vector<int64_t>{1, 0, 1}, at::kLong).reshape({1, 3});
  const at::Tensor loss = Ok(SftLoss(logits, targets, Mat({{0, 1, 1}})));
  CHECK(Item(loss) == Approx(0.8369882168));
  // The prompt position gets no gradient.
  loss.backward();
  CHECK(logits.grad()[0][0].abs().sum().item<double>() == 0.0);
  // Changing the prompt logits changes nothing.
  const at::Tensor other = logits.detach().clone();
  other[0][0].fill_(5.0);
  CHECK(Item(Ok(SftLoss(other, targets, Mat({{0, 1, 1}})))) == Approx(0.8369882168));
  CHECK(testing::IsInvalidNaming(SftLoss(logits, targets, Mat({{1, 1}})).status(), "loss_mask"));
}

TEST_CASE("Padding never changes the SFT loss") {
  // Two sequences of different lengths; the wide copy adds two padding columns of NaN logits.
  const at::Tensor logits = at::randn({2, 3, 4}, at::kDouble);
  const at::Tensor targets = at::tensor(std::vector<int64_t>{1, 2, 3, 0, 1, 2}, at::kLong)
                                 .reshape({2, 3});
  const at::Tensor mask = Mat({{0, 1, 1}, {1, 1, 0}});
  const at::Tensor wide_logits =
      at::cat({logits, at::full({2, 2, 4}, std::nan(""), at::kDouble)}, 1);
  const at::Tensor wide_targets = at::cat({targets, at::zeros({2, 2}, at::kLong)}, 1);
  const at::Tensor wide_mask = at::cat({mask, at::zeros({2, 2}, at::kDouble)}, 1);
  for (Aggregation agg : {Aggregation::kTokenMean, Aggregation::kSequenceMean}) {
    CHECK(Item(Ok(SftLoss(wide_logits, wide_targets, wide_mask, agg))) ==
          Approx(Item(Ok(SftLoss(logits, targets, mask, agg)))).epsilon(1e-14));
  }
}

DpoBatch OnePair() {
  // h = (π_c − ref_c) − (π_r − ref_r) = (−1 + 1.5) − (−2 + 1.5) = 1.
  DpoBatch b;
  b.policy_chosen = Vec({-1.0}).requires_grad_(true);
  b.policy_rejected = Vec({-2.0}).requires_grad_(true);
  b.reference_chosen = Vec({-1.5});
  b.reference_rejected = Vec({-1.5});
  return b;
}

TEST_CASE("DPO loss by hand") {
  const DpoBatch b = OnePair();
  const DpoOutput out = Ok(DpoLoss(b, {.beta = 0.1}));
  // l = −log σ(β·h) = −log σ(0.1) = 0.644397.
  CHECK(Item(out.loss) == Approx(0.6443966601));
  CHECK(out.chosen_reward == Approx(0.05));     // β·(π_c − ref_c)
  CHECK(out.rejected_reward == Approx(-0.05));  // β·(π_r − ref_r)
  CHECK(out.reward_margin == Approx(0.1));
  CHECK(out.reward_accuracy == 1.0);
  // ∂l/∂π_c = −β·σ(−β·h) = −0.1·σ(−0.1) = −0.0475021; ∂l/∂π_r = +0.0475021.
  out.loss.backward();
  CHECK(b.policy_chosen.grad().item<double>() == Approx(-0.0475020813));
  CHECK(b.policy_rejected.grad().item<double>() == Approx(0.0475020813));
  // Label smoothing ε = 0.1: 0.9·0.644397 + 0.1·(−log σ(−0.1) = 0.744397) = 0.654397.
  CHECK(Item(Ok(DpoLoss(OnePair(), {.beta = 0.1, .label_smoothing = 0.1})).loss) ==
        Approx(0.6543966601));
  CHECK(testing::IsInvalidNaming(DpoLoss(b, {.beta = 0}).status(), "beta"));
  DpoBatch bad = OnePair();
  bad.reference_rejected = Vec({1, 2});
  CHECK(testing::IsInvalidNaming(DpoLoss(bad).status(), "reference_rejected"));
}

TEST_CASE("IPO loss by hand") {
  // l = (h − 1/(2τ))²: τ = 0.1 → (1 − 5)² = 16; τ = 0.5 → (1 − 1)² = 0.
  CHECK(Item(Ok(IpoLoss(OnePair(), {.beta = 0.1})).loss) == Approx(16.0));
  CHECK(Item(Ok(IpoLoss(OnePair(), {.beta = 0.5})).loss) == Approx(0.0).margin(1e-12));
  // ∂l/∂π_c = 2(h − 1/(2τ)) = −8 at τ = 0.1.
  const DpoBatch b = OnePair();
  Ok(IpoLoss(b, {.beta = 0.1})).loss.backward();
  CHECK(b.policy_chosen.grad().item<double>() == Approx(-8.0));
}

TEST_CASE("KTO loss by hand") {
  // Two completions: desirable with r = π − ref = 1 − 0 = 1, undesirable with r = −2 − 0 = −2.
  // Mismatched pairs: kl = mean([0.5 − 0, 1.5 − 0]) = 1 → z0 = 1. β = 0.5, λ_D = 1, λ_U = 2:
  //   desirable:   1·(1 − σ(0.5·(1 − 1)))  = 1 − σ(0)   = 0.5
  //   undesirable: 2·(1 − σ(0.5·(1 + 2)))  = 2·(1 − σ(1.5)) = 2·0.1824255 = 0.3648510
  //   loss = (0.5 + 0.3648510) / 2 = 0.4324255.
  KtoBatch b;
  b.policy = Vec({1, -2}).requires_grad_(true);
  b.reference = Vec({0, 0});
  b.desirable = Vec({1, 0});
  b.kl_policy = Vec({0.5, 1.5});
  b.kl_reference = Vec({0, 0});
  const KtoOptions options{.beta = 0.5, .desirable_weight = 1.0, .undesirable_weight = 2.0};
  const KtoOutput out = Ok(KtoLoss(b, options));
  CHECK(out.z0 == Approx(1.0));
  CHECK(Item(out.loss) == Approx(0.4324255));
  CHECK(out.desirable_reward == Approx(0.5));
  CHECK(out.undesirable_reward == Approx(-1.0));
  // ∂l/∂π for the desirable one: −λ_D·β·σ'(0)/N = −1·0.5·0.25/2 = −0.0625; for the undesirable
  // one: +λ_U·β·σ(1.5)(1 − σ(1.5))/N = 2·0.5·0.1491465/2 = 0.0745732.
  out.loss.backward();
  CHECK(b.policy.grad()[0].item<double>() == Approx(-0.0625));
  CHECK(b.policy.grad()[1].item<double>() == Approx(0.0745732));
  // z0 never goes below 0, even where the policy is below the reference on mismatched pairs.
  CHECK(Ok(KtoReferencePoint(Vec({-3, -1}), Vec({0, 0}))) == 0.0);
  // A given z0 overrides the batch's estimate (and needs no mismatched pairs).
  KtoBatch given;
  given.policy = Vec({1});
  given.reference = Vec({0});
  given.desirable = Vec({1});
  given.z0 = 0.0;
  // 1 − σ(0.5·1) = 0.3775407.
  CHECK(Item(Ok(KtoLoss(given, options)).loss) == Approx(0.3775407));
  KtoBatch bad = given;
  bad.z0 = -1;
  CHECK(testing::IsInvalidNaming(KtoLoss(bad, options).status(), "kl_policy"));
  bad = given;
  bad.desirable = Vec({1, 0});
  CHECK(testing::IsInvalidNaming(KtoLoss(bad, options).status(), "desirable"));
  CHECK(testing::IsInvalidNaming(KtoLoss(given, {.beta = -1}).status(), "beta"));
}

}  // namespace
}  // namespace rein::rl
