// Learning test: a tiny reward model learns a hidden utility from synthetic human feedback, in
// three forms: noisy pairwise choices (Bradley–Terry), K = 4 rankings (Plackett–Luce) and 1–10
// ratings turned into pairs with margins and ties. The bar is >= 90% accuracy on held-out pairs,
// judged against the hidden utility's own ordering.
//
// Responses are sequences of 6 tokens over a vocabulary of 10; the hidden utility is
// u(x) = Σ_t w[x_t] with fixed random w ~ N(0, 1). Annotators are noisy: a pair is labelled
// a ≻ b with probability σ(u_a − u_b), rankings are Plackett–Luce samples (Gumbel-max), ratings
// are u plus Gaussian noise, rounded.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/where.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/log/log.h"
#include "common/rl/internal/test_util.h"
#include "common/rl/optim.h"
#include "common/rl/preference.h"

namespace rein::rl {
namespace {

using testing::Ok;

constexpr int64_t kVocab = 10;
constexpr int64_t kLen = 6;
constexpr int64_t kDim = 16;
constexpr int kMaxSteps = 300;
constexpr int kEvalEvery = 5;
constexpr double kBar = 0.9;

// r(x) = w2·tanh(W1·mean_t E[x_t] + b1) + b2.
struct TinyRewardModel {
  at::Tensor emb, w1, b1, w2, b2;

  static TinyRewardModel Init(at::Generator& gen) {
    auto randn = [&](at::IntArrayRef size, double scale) {
      return (at::randn(size, gen, at::kFloat) * scale).requires_grad_(true);
    };
    return {randn({kVocab, kDim}, 1.0), randn({kDim, kDim}, 0.3), randn({kDim}, 0.0),
            randn({kDim}, 0.3), randn({1}, 0.0)};
  }
  std::vector<at::Tensor> Params() const { return {emb, w1, b1, w2, b2}; }
  // items [N, L] → scores [N].
  at::Tensor Score(const at::Tensor& items) const {
    const at::Tensor e = emb.index_select(0, items.reshape({-1})).reshape({-1, kLen, kDim});
    return (e.mean(1).matmul(w1) + b1).tanh().matmul(w2) + b2;
  }
};

struct World {
  at::Generator gen;
  at::Tensor weights;  // hidden w [V]
  at::Tensor Items(int64_t n) { return at::randint(kVocab, {n, kLen}, gen, at::kLong); }
  at::Tensor Utility(const at::Tensor& items) const {
    return weights.index_select(0, items.reshape({-1})).reshape(items.sizes()).sum(-1);
  }
};

// Held-out pairs, [N, L] each, in two orders: by the hidden utility (first truly better: the
// accuracy bar) and as a noisy annotator would label them (first chosen with probability
// σ(u_a − u_b): the calibration check, since a BT model should predict the annotator).
struct HeldOut {
  at::Tensor better, worse;
  at::Tensor chosen, rejected;
};

HeldOut MakeHeldOut(World& world, int64_t n) {
  const at::Tensor a = world.Items(n);
  const at::Tensor b = world.Items(n);
  const at::Tensor gap = world.Utility(a) - world.Utility(b);
  const at::Tensor a_better = gap.gt(0).unsqueeze(1);
  const at::Tensor a_chosen = at::rand({n}, world.gen, at::kFloat).lt(gap.sigmoid()).unsqueeze(1);
  return {at::where(a_better, a, b), at::where(a_better, b, a), at::where(a_chosen, a, b),
          at::where(a_chosen, b, a)};
}

PreferenceStats Evaluate(const TinyRewardModel& model, const at::Tensor& first,
                         const at::Tensor& second) {
  at::NoGradGuard no_grad;
  return Ok(ComputePreferenceStats({model.Score(first), model.Score(second)}));
}

// A minibatch loss for the current model, drawn fresh from the annotators each step.
using LossFn = std::function<at::Tensor(const TinyRewardModel&, World&)>;

struct Outcome {
  int steps_to_bar = -1;
  PreferenceStats final_stats;      // against the hidden utility's order
  PreferenceStats annotator_stats;  // against noisy annotator labels
  double seconds = 0;
};

Outcome Train(World& world, const LossFn& loss_fn, const std::string& name) {
  at::set_num_threads(1);
  const auto started = std::chrono::steady_clock::now();
  const HeldOut held_out = MakeHeldOut(world, 2000);
  TinyRewardModel model = TinyRewardModel::Init(world.gen);
  auto optimizer = Ok(AdamW::Create(model.Params(), {.lr = 0.02, .weight_decay = 0.01}));
  const LrSchedule schedule = Ok(LrSchedule::Create(
      {.peak_lr = 0.02, .warmup_steps = 10, .total_steps = kMaxSteps, .min_lr_ratio = 0.1}));
  Outcome out;
  for (int step = 0; step < kMaxSteps; ++step) {
    optimizer->SetLearningRate(schedule.LearningRate(step));
    optimizer->ZeroGrad();
    loss_fn(model, world).backward();
    REQUIRE(Ok(ClipGradNorm(model.Params(), 5.0)) >= 0.0);
    REQUIRE(optimizer->Step().ok());
    if ((step + 1) % kEvalEvery == 0 && out.steps_to_bar < 0 &&
        Evaluate(model, held_out.better, held_out.worse).accuracy >= kBar) {
      out.steps_to_bar = step + 1;
    }
  }
  out.final_stats = Evaluate(model, held_out.better, held_out.worse);
  out.annotator_stats = Evaluate(model, held_out.chosen, held_out.rejected);
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REIN_LOG(INFO, "rl_learning_test")
      << "reward model (" << name << "): held-out accuracy >= " << kBar << " after "
      << out.steps_to_bar << " steps; final accuracy " << out.final_stats.accuracy
      << " after " << kMaxSteps << " steps; against annotator labels: accuracy "
      << out.annotator_stats.accuracy << ", log loss " << out.annotator_stats.log_loss
      << ", ECE " << out.annotator_stats.ece << ", Brier " << out.annotator_stats.brier << "; "
      << out.seconds << " s";
  return out;
}

World MakeWorld(uint64_t seed) {
  World world{at::make_generator<at::CPUGeneratorImpl>(seed), {}};
  world.weights = at::randn({kVocab}, world.gen, at::kFloat);
  return world;
}

// `max_ece`: bound on the expected calibration error against the annotator, for feedback whose
// noise is the BT model's own (pairs, and PL rankings, whose pairwise marginals are BT);
// 0 skips the check (ratings have their own noise model).
void CheckOutcome(const Outcome& out, double max_ece) {
  CHECK(out.steps_to_bar > 0);
  CHECK(out.final_stats.accuracy >= kBar);
  if (max_ece > 0) CHECK(out.annotator_stats.ece < max_ece);
  CHECK(out.seconds < 30.0);
}

TEST_CASE("Reward model learns a hidden utility from noisy pairwise choices") {
  World world = MakeWorld(7);
  CheckOutcome(Train(
      world,
      [](const TinyRewardModel& model, World& w) {
        const at::Tensor a = w.Items(128);
        const at::Tensor b = w.Items(128);
        // Annotator: a ≻ b with probability σ(u_a − u_b).
        const at::Tensor p = (w.Utility(a) - w.Utility(b)).sigmoid();
        const at::Tensor a_wins = at::rand({128}, w.gen, at::kFloat).lt(p).unsqueeze(1);
        return Ok(BradleyTerryLoss({model.Score(at::where(a_wins, a, b)),
                                    model.Score(at::where(a_wins, b, a))}));
      },
      "Bradley-Terry pairs"),
      /*max_ece=*/0.05);
}

TEST_CASE("Reward model learns a hidden utility from K-wise rankings") {
  World world = MakeWorld(8);
  constexpr int64_t kLists = 32, kK = 4;
  CheckOutcome(Train(
      world,
      [](const TinyRewardModel& model, World& w) {
        const at::Tensor items = w.Items(kLists * kK);
        // Plackett–Luce sample by Gumbel-max: sort u + Gumbel noise, best first.
        const at::Tensor u = w.Utility(items).reshape({kLists, kK});
        const at::Tensor uniform = at::rand({kLists, kK}, w.gen, at::kFloat).clamp_min(1e-9);
        const at::Tensor gumbel = -(-uniform.log()).log();
        const at::Tensor order = (u + gumbel).argsort(1, /*descending=*/true);
        const at::Tensor ranked = model.Score(items).reshape({kLists, kK}).gather(1, order);
        return Ok(PlackettLuceLoss(ranked));
      },
      "Plackett-Luce rankings, K=4"),
      /*max_ece=*/0.05);
}

TEST_CASE("Reward model learns a hidden utility from ratings turned into pairs") {
  World world = MakeWorld(9);
  constexpr int64_t kPrompts = 32, kK = 4;
  CheckOutcome(Train(
      world,
      [](const TinyRewardModel& model, World& w) {
        const at::Tensor items = w.Items(kPrompts * kK);
        // 1–10 ratings: u + N(0, 0.5²), scaled and rounded.
        const at::Tensor noisy = w.Utility(items) + 0.5 * at::randn({kPrompts * kK}, w.gen,
                                                                     at::kFloat);
        const at::Tensor ratings = (noisy + 5.5).round().clamp(1, 10).reshape({kPrompts, kK});
        const RatingPairs pairs =
            Ok(RatingsToPairs(ratings, {}, {.tie_threshold = 0.0, .margin_scale = 0.1}));
        const at::Tensor scores = model.Score(items);
        return Ok(BradleyTerryLoss({scores.index_select(0, pairs.chosen_index),
                                    scores.index_select(0, pairs.rejected_index),
                                    pairs.margin.to(at::kFloat), pairs.tie}));
      },
      "ratings to pairs with margins and ties"),
      /*max_ece=*/0.0);
}

}  // namespace
}  // namespace rein::rl
