#include "common/rl/optim.h"

#include <ATen/ops/full.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "common/rl/internal/test_util.h"
#include "common/rl/ppo_loss.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace {

using testing::AllClose;
using testing::Mat;
using testing::Ok;
using testing::Vec;

TEST_CASE("AdamW decays weights independently of the gradient") {
  // One step, lr = 0.1, λ = 0.1, β = (0.9, 0.999):
  //   m̂ = g, v̂ = g² after bias correction → Adam step = lr·g/(|g| + eps) = lr·sign(g)
  //   decoupled decay first: p ← p·(1 − lr·λ)
  const at::Tensor w = Mat({{1.0}}).requires_grad_(true);   // 2-D, g = 0.5
  const at::Tensor z = Mat({{2.0}}).requires_grad_(true);   // 2-D, g = 0
  const at::Tensor bias = Vec({1.0}).requires_grad_(true);  // 1-D, g = 0: not decayed
  auto opt = Ok(AdamW::Create({w, z, bias}, {.lr = 0.1, .weight_decay = 0.1}));
  w.mutable_grad() = Mat({{0.5}});
  z.mutable_grad() = Mat({{0.0}});
  bias.mutable_grad() = Vec({0.0});
  REQUIRE(opt->Step().ok());
  CHECK(w.item<double>() == Approx(1.0 * 0.99 - 0.1).epsilon(1e-7));  // 0.89
  CHECK(z.item<double>() == Approx(2.0 * 0.99));                      // 1.98: decay alone
  CHECK(bias.item<double>() == Approx(1.0));
  opt->SetLearningRate(0.5);
  CHECK(opt->learning_rate() == 0.5);
  opt->ZeroGrad();
  CHECK_FALSE(w.grad().defined());
  CHECK(testing::IsInvalidNaming(AdamW::Create({Vec({1.0})}, {}).status(), "params[0]"));
  CHECK(testing::IsInvalidNaming(AdamW::Create({w}, {.beta2 = 1.0}).status(), "beta2"));
}

TEST_CASE("AdamW per-parameter state: read and cleared and set and counted in bytes") {
  const at::Tensor w = at::zeros({2, 3}).requires_grad_(true);
  const at::Tensor b = at::zeros({3}).requires_grad_(true);
  auto opt = Ok(AdamW::Create({w, b}, {.lr = 0.1}));
  CHECK_FALSE(opt->ParamState(0).has_value());
  CHECK(opt->StateBytes() == 0);
  // A parameter without a gradient gets no state from a step.
  w.mutable_grad() = at::full({2, 3}, 0.5);
  REQUIRE(opt->Step().ok());
  const std::optional<AdamWParamState> state = opt->ParamState(0);
  REQUIRE(state.has_value());
  CHECK(state->step == 1);
  CHECK(AllClose(state->exp_avg, at::full({2, 3}, 0.05)));
  CHECK_FALSE(opt->ParamState(1).has_value());
  CHECK(opt->StateBytes() == 2 * 6 * 4);  // two float moments of 6 elements
  opt->SetParamState(1, {.step = 4, .exp_avg = at::full({3}, 1.0), .exp_avg_sq = at::zeros({3})});
  CHECK(opt->ParamState(1)->step == 4);
  CHECK(opt->StateBytes() == 2 * 6 * 4 + 2 * 3 * 4);
  opt->ClearParamState(0);
  CHECK_FALSE(opt->ParamState(0).has_value());
  CHECK(opt->StateBytes() == 2 * 3 * 4);
}

TEST_CASE("AdamW steps bfloat16 parameters through float32 masters") {
  // Adam's step is about lr = 1e-4 per step; bfloat16's spacing just below 1 is 2^-8, so a
  // bfloat16 weight updated on its own would round every step back to 1.
  const at::Tensor low = at::full({2, 2}, 1.0, at::kBFloat16).requires_grad_(true);
  const at::Tensor plain = at::full({2, 2}, 1.0).requires_grad_(true);
  auto opt = Ok(AdamW::Create({low, plain}, {.lr = 1e-4, .weight_decay = 0}));
  REQUIRE(opt->master(0).defined());
  CHECK(opt->master(0).scalar_type() == at::kFloat);
  CHECK_FALSE(opt->master(1).defined());
  for (int step = 0; step < 100; ++step) {
    low.mutable_grad() = at::full({2, 2}, 1.0, at::kBFloat16);
    plain.mutable_grad() = at::full({2, 2}, 1.0);
    REQUIRE(opt->Step().ok());
    opt->ZeroGrad();
  }
  // Both moved by 100 steps of ~1e-4: the master as the float32 weight did, and the bfloat16
  // weight is the master rounded.
  CHECK(AllClose(opt->master(0), plain.detach(), 1e-6));
  CHECK(plain.detach().max().item<double>() == Approx(0.99).epsilon(1e-3));
  CHECK(low.scalar_type() == at::kBFloat16);
  CHECK(AllClose(low.detach().to(at::kFloat), opt->master(0).to(at::kBFloat16).to(at::kFloat), 0));
  CHECK(low.detach().max().item<double>() < 1.0);
  CHECK(opt->ParamState(0)->exp_avg.scalar_type() == at::kFloat);
  // Moments (2 x 4 floats) of each parameter, and the master (4 floats).
  CHECK(opt->StateBytes() == 2 * (2 * 4 * 4) + 4 * 4);
  REQUIRE(opt->SetMaster(0, at::full({2, 2}, 0.5)).ok());
  CHECK(low.detach().max().item<double>() == 0.5);
  CHECK(opt->SetMaster(1, at::full({2, 2}, 0.5)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(opt->SetMaster(0, at::full({4}, 0.5)).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ClipGradNorm scales by the global norm") {
  const at::Tensor a = Vec({0.0}).requires_grad_(true);
  const at::Tensor b = Vec({0.0}).requires_grad_(true);
  a.mutable_grad() = Vec({3.0});
  b.mutable_grad() = Vec({4.0});
  // n = sqrt(3² + 4²) = 5; max_norm 10 leaves the gradients alone.
  CHECK(Ok(ClipGradNorm({a, b}, 10.0)) == Approx(5.0));
  CHECK(a.grad().item<double>() == 3.0);
  // max_norm 1: g·1/(5 + 1e-6) = [0.6, 0.8].
  CHECK(Ok(ClipGradNorm({a, b}, 1.0)) == Approx(5.0));
  CHECK(a.grad().item<double>() == Approx(0.6));
  CHECK(b.grad().item<double>() == Approx(0.8));
  CHECK(testing::IsInvalidNaming(ClipGradNorm({a}, 0.0).status(), "max_norm"));
}

TEST_CASE("Warmup then cosine or linear decay") {
  // peak 1, W = 2, S = 6, min = 0.1.
  const LrSchedule cos = Ok(LrSchedule::Create(
      {.peak_lr = 1.0, .warmup_steps = 2, .total_steps = 6, .min_lr_ratio = 0.1}));
  CHECK(cos.LearningRate(0) == Approx(0.5));  // peak·(s + 1)/W
  CHECK(cos.LearningRate(1) == Approx(1.0));
  CHECK(cos.LearningRate(2) == Approx(1.0));  // p = 0
  // p = (4 − 2)/4 = ½: 0.1 + 0.9·½·(1 + cos(π/2)) = 0.55.
  CHECK(cos.LearningRate(4) == Approx(0.55));
  // p = ¾: 0.1 + 0.9·½·(1 + cos(3π/4)) = 0.231802.
  CHECK(cos.LearningRate(5) == Approx(0.2318019485));
  CHECK(cos.LearningRate(6) == Approx(0.1));
  CHECK(cos.LearningRate(100) == Approx(0.1));
  const LrSchedule lin = Ok(LrSchedule::Create({.peak_lr = 1.0, .warmup_steps = 2,
                                                .total_steps = 6, .decay = LrDecay::kLinear,
                                                .min_lr_ratio = 0.1}));
  // p = ¾: 0.1 + 0.9·(1 − ¾) = 0.325.
  CHECK(lin.LearningRate(5) == Approx(0.325));
  CHECK(testing::IsInvalidNaming(
      LrSchedule::Create({.warmup_steps = 10, .total_steps = 5}).status(), "total_steps"));
}

// A tiny linear policy: logits[b,t,:] = x[b,t,:]·W, W [D, V].
struct Toy {
  at::Tensor x;       // [B, T, D]
  at::Tensor tokens;  // [B, T]
  at::Tensor old_logprobs, advantages, mask;
};

Toy MakeToy() {
  Toy toy;
  const int64_t b = 8, t = 6, d = 4, v = 5;
  toy.x = at::randn({b, t, d}, at::kDouble);
  toy.tokens = (at::randn({b, t}, at::kDouble).abs() * 3).to(at::kLong).clamp(0, v - 1);
  toy.old_logprobs = at::randn({b, t}, at::kDouble) * 0.1 - 1.6;
  toy.advantages = at::randn({b, t}, at::kDouble);
  toy.mask = at::zeros({b, t}, at::kDouble);
  for (int64_t i = 0; i < b; ++i) toy.mask[i].narrow(0, 0, 1 + (i * 5) % t).fill_(1);
  return toy;
}

absl::StatusOr<at::Tensor> ToyLoss(const Toy& toy, const at::Tensor& w, const MicroBatch& mb,
                                   Aggregation agg, double normalizer) {
  const int64_t n = mb.end - mb.begin;
  PpoBatch batch;
  ASSIGN_OR_RETURN(batch.logprobs,
                   TokenLogProbs(toy.x.narrow(0, mb.begin, n).matmul(w),
                                 toy.tokens.narrow(0, mb.begin, n)));
  batch.old_logprobs = toy.old_logprobs.narrow(0, mb.begin, n);
  batch.advantages = toy.advantages.narrow(0, mb.begin, n);
  batch.mask = toy.mask.narrow(0, mb.begin, n);
  batch.normalizer = normalizer;
  ASSIGN_OR_RETURN(PpoLossOutput out, PpoLoss(batch, {.aggregation = agg}));
  return out.loss;
}

TEST_CASE("Accumulating 4 micro-batches gives the same update as one batch") {
  const Toy toy = MakeToy();
  const at::Tensor w0 = at::randn({4, 5}, at::kDouble) * 0.3;
  for (Aggregation agg : {Aggregation::kTokenMean, Aggregation::kSequenceMean}) {
    const double n = Ok(GlobalNormalizer(toy.mask, agg));
    // One batch of 8.
    const at::Tensor w_full = w0.clone().requires_grad_(true);
    auto opt_full = Ok(AdamW::Create({w_full}, {.lr = 0.01}));
    const double full_loss = Ok(AccumulateGradients(8, 8, [&](const MicroBatch& mb) {
      return ToyLoss(toy, w_full, mb, agg, 0.0);
    }));
    const at::Tensor grad_full = w_full.grad().clone();
    REQUIRE(opt_full->Step().ok());
    // Four micro-batches of 2, each normalised by the whole batch's N.
    const at::Tensor w_acc = w0.clone().requires_grad_(true);
    auto opt_acc = Ok(AdamW::Create({w_acc}, {.lr = 0.01}));
    const double acc_loss = Ok(AccumulateGradients(8, 2, [&](const MicroBatch& mb) {
      return ToyLoss(toy, w_acc, mb, agg, n);
    }));
    CHECK(acc_loss == Approx(full_loss).epsilon(1e-12));
    CHECK(AllClose(w_acc.grad(), grad_full, 1e-12));
    REQUIRE(opt_acc->Step().ok());
    CHECK(AllClose(w_acc, w_full, 1e-12));
    // Each micro-batch normalised by its own N would not match (token mean, unequal lengths).
    if (agg == Aggregation::kTokenMean) {
      const at::Tensor w_naive = w0.clone().requires_grad_(true);
      REQUIRE(AccumulateGradients(8, 2, [&](const MicroBatch& mb) -> absl::StatusOr<at::Tensor> {
                ASSIGN_OR_RETURN(const at::Tensor l, ToyLoss(toy, w_naive, mb, agg, 0.0));
                return l / 4.0;
              }).ok());
      CHECK_FALSE(AllClose(w_naive.grad(), grad_full, 1e-6));
    }
  }
  CHECK(Ok(GlobalNormalizer(Mat({{1, 1, 0}, {0, 0, 0}}), Aggregation::kTokenMean)) == 2.0);
  CHECK(Ok(GlobalNormalizer(Mat({{1, 1, 0}, {0, 0, 0}}), Aggregation::kSequenceMean)) == 1.0);
}

}  // namespace
}  // namespace rein::rl
