// Learning test: PPO (GAE, KL penalty against a frozen reference with the adaptive controller,
// whitened advantages, clipped policy and value losses, entropy bonus, AdamW with a schedule and
// gradient clipping) trains a tiny autoregressive policy on a toy sequence task with a known
// optimum.
//
// Task: a prompt is a start token s ∈ [0, V) and a response length L ∈ [3, 6]. The policy writes L
// tokens x_1..x_L; the sequence reward is the fraction of positions with x_t = (x_{t−1} + 1) mod V
// (x_0 = s), given only at the end. The optimum is 1 (count up from s); a uniform policy gets
// 1/V = 0.125. Responses are right-padded to T = 6, so the mask is exercised.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/stack.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <utility>
#include <vector>

#include "common/log/log.h"
#include "common/rl/advantages.h"
#include "common/rl/internal/test_util.h"
#include "common/rl/kl.h"
#include "common/rl/masked.h"
#include "common/rl/optim.h"
#include "common/rl/ppo_loss.h"

namespace rein::rl {
namespace {

using testing::Ok;

constexpr int64_t kVocab = 8;
constexpr int64_t kSteps = 6;  // T
constexpr int64_t kDim = 16;
constexpr int64_t kBatch = 64;
constexpr int kMaxIterations = 150;
constexpr double kBar = 0.9;  // 90% of the optimal reward 1.0

// logits_t, V_t = heads(tanh(E[x_{t−1}] + P[t])): an embedding + linear policy with a value head.
struct TinyPolicy {
  at::Tensor tok_emb, pos_emb, w_out, b_out, w_val, b_val;

  static TinyPolicy Init(at::Generator& gen) {
    auto randn = [&](at::IntArrayRef size, double scale) {
      return (at::randn(size, gen, at::kFloat) * scale).requires_grad_(true);
    };
    return {randn({kVocab, kDim}, 0.5), randn({kSteps, kDim}, 0.5), randn({kDim, kVocab}, 0.01),
            randn({kVocab}, 0.0), randn({kDim, 1}, 0.01), randn({1}, 0.0)};
  }
  std::vector<at::Tensor> Params() const {
    return {tok_emb, pos_emb, w_out, b_out, w_val, b_val};
  }
  TinyPolicy Frozen() const {
    return {tok_emb.detach().clone(), pos_emb.detach().clone(), w_out.detach().clone(),
            b_out.detach().clone(), w_val.detach().clone(), b_val.detach().clone()};
  }
  // prev [B, n]: the token before each of positions first..first+n−1. Returns logits [B, n, V]
  // and values [B, n].
  std::pair<at::Tensor, at::Tensor> Forward(const at::Tensor& prev, int64_t first = 0) const {
    const int64_t b = prev.size(0), n = prev.size(1);
    const at::Tensor h = (tok_emb.index_select(0, prev.reshape({-1})).reshape({b, n, kDim}) +
                          pos_emb.narrow(0, first, n).unsqueeze(0))
                             .tanh();
    return {h.matmul(w_out) + b_out, (h.matmul(w_val) + b_val).squeeze(-1)};
  }
};

struct Rollout {
  at::Tensor prev;    // [B, T] token before each position (x_0 = s at position 0)
  at::Tensor tokens;  // [B, T] sampled tokens (padding after L)
  at::Tensor mask;    // [B, T]
  at::Tensor reward;  // [B] task reward in [0, 1]
};

Rollout Generate(const TinyPolicy& policy, at::Generator& gen, int64_t batch, bool greedy) {
  at::NoGradGuard no_grad;
  Rollout r;
  const at::Tensor start = at::randint(kVocab, {batch}, gen, at::kLong);
  const at::Tensor length = at::randint(3, kSteps + 1, {batch}, gen, at::kLong);
  r.mask = at::arange(kSteps, at::kLong).unsqueeze(0).lt(length.unsqueeze(1)).to(at::kFloat);
  std::vector<at::Tensor> prevs, tokens;
  at::Tensor prev = start;
  for (int64_t t = 0; t < kSteps; ++t) {
    const at::Tensor logits = policy.Forward(prev.unsqueeze(1), t).first.squeeze(1);
    const at::Tensor next = greedy ? logits.argmax(-1)
                                   : at::multinomial(logits.softmax(-1), 1, false, gen).squeeze(1);
    prevs.push_back(prev);
    tokens.push_back(next);
    prev = next;
  }
  r.prev = at::stack(prevs, 1);
  r.tokens = at::stack(tokens, 1).masked_fill(r.mask.eq(0), 0);
  const at::Tensor correct = r.tokens.eq((r.prev + 1).remainder(kVocab)).to(at::kFloat) * r.mask;
  r.reward = correct.sum(1) / length.to(at::kFloat);
  return r;
}

double MeanReward(const TinyPolicy& policy, at::Generator& gen, int64_t n, bool greedy) {
  return Generate(policy, gen, n, greedy).reward.mean().item<double>();
}

TEST_CASE("PPO reaches 90% of the optimal reward on the count-up task") {
  at::set_num_threads(1);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(20251123);
  const auto started = std::chrono::steady_clock::now();
  TinyPolicy policy = TinyPolicy::Init(gen);
  const TinyPolicy reference = policy.Frozen();
  auto optimizer = Ok(AdamW::Create(policy.Params(), {.lr = 0.03, .weight_decay = 0.0}));
  const LrSchedule schedule = Ok(LrSchedule::Create(
      {.peak_lr = 0.03, .warmup_steps = 5, .total_steps = kMaxIterations, .min_lr_ratio = 0.1}));
  KlController kl = Ok(KlController::Create(
      {.adaptive = true, .init_coef = 0.02, .target_kl = 10.0, .horizon = 10000.0}));
  const PpoLossOptions ppo{.value_clip = 0.2, .value_coef = 0.5, .entropy_coef = 0.001,
                           .early_stop_kl = 0.2};
  const double initial = MeanReward(policy, gen, 512, false);

  int reached_at = -1;
  double confirmed = 0;
  PpoStats last;
  int64_t optimizer_steps = 0;
  for (int it = 0; it < kMaxIterations && reached_at < 0; ++it) {
    const Rollout r = Generate(policy, gen, kBatch, false);
    at::Tensor old_logprobs, old_values, ref_logprobs;
    {
      at::NoGradGuard no_grad;
      auto [logits, values] = policy.Forward(r.prev);
      old_logprobs = Ok(TokenLogProbs(logits, r.tokens));
      old_values = values;
      ref_logprobs = Ok(TokenLogProbs(reference.Forward(r.prev).first, r.tokens));
    }
    const TokenRewards rewards =
        Ok(ComputeTokenRewards(r.reward, old_logprobs, ref_logprobs, r.mask, kl.coef()));
    REQUIRE(kl.Update(rewards.mean_sequence_kl, kBatch).ok());
    const GaeResult gae = Ok(ComputeGae(rewards.rewards, old_values, r.mask,
                                        {.gamma = 1.0, .lambda = 0.95}));
    const at::Tensor advantages = Ok(MaskedWhiten(gae.advantages, r.mask));
    optimizer->SetLearningRate(schedule.LearningRate(it));

    bool stop = false;
    for (int epoch = 0; epoch < 4 && !stop; ++epoch) {
      for (int64_t begin = 0; begin < kBatch && !stop; begin += kBatch / 2) {
        auto rows = [&](const at::Tensor& t) { return t.narrow(0, begin, kBatch / 2); };
        auto [logits, values] = policy.Forward(rows(r.prev));
        PpoBatch batch;
        batch.logprobs = Ok(TokenLogProbs(logits, rows(r.tokens)));
        batch.entropy = Ok(TokenEntropy(logits));
        batch.values = values;
        batch.old_logprobs = rows(old_logprobs);
        batch.old_values = rows(old_values);
        batch.returns = rows(gae.returns);
        batch.advantages = rows(advantages);
        batch.mask = rows(r.mask);
        const PpoLossOutput out = Ok(PpoLoss(batch, ppo));
        optimizer->ZeroGrad();
        out.loss.backward();
        REQUIRE(Ok(ClipGradNorm(policy.Params(), 1.0)) >= 0.0);
        REQUIRE(optimizer->Step().ok());
        ++optimizer_steps;
        last = out.stats;
        stop = out.stats.early_stop;
      }
    }
    const double batch_reward = r.reward.mean().item<double>();
    {
      REIN_LOG(INFO, "rl_learning_test")
          << "ppo iteration " << it << ": reward " << batch_reward << ", seq KL "
          << rewards.mean_sequence_kl << ", beta " << kl.coef() << ", approx_kl "
          << last.approx_kl << ", clip_frac " << last.clip_fraction << ", EV "
          << last.explained_variance << ", entropy " << last.entropy;
    }
    // The rollout batch estimates the sampled policy's reward; confirm on 1024 fresh samples.
    if (batch_reward >= kBar) {
      confirmed = MeanReward(policy, gen, 1024, false);
      if (confirmed >= kBar) reached_at = it + 1;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double greedy = MeanReward(policy, gen, 1024, true);
  REIN_LOG(INFO, "rl_learning_test")
      << "ppo: initial reward " << initial << "; reached " << confirmed << " (bar " << kBar
      << " of optimum 1.0) after " << reached_at << " iterations (" << optimizer_steps
      << " optimizer steps, " << reached_at * kBatch << " samples); greedy reward " << greedy
      << "; final beta " << kl.coef() << ", explained variance " << last.explained_variance
      << "; " << seconds << " s";
  CHECK(initial < 0.3);
  REQUIRE(reached_at > 0);
  CHECK(confirmed >= kBar);
  CHECK(greedy >= kBar);
  CHECK(seconds < 30.0);
}

}  // namespace
}  // namespace rein::rl
