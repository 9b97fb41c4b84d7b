#include "services/learner/rl_step.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "common/rl/masked.h"
#include "common/rl/ppo_loss.h"
#include "common/status/status_macros.h"
#include "services/learner/dist_stats.h"
#include "services/learner/model_forward.h"
#include "services/learner/optimizer_step.h"
#include "services/learner/rl_advantages.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {
namespace {

absl::Status CheckFinite(const google::protobuf::RepeatedField<float>& values,
                         absl::string_view what, absl::string_view field) {
  for (int j = 0; j < values.size(); ++j) {
    if (!std::isfinite(values[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": ", field, "[", j, "] = ", values[j], " is not finite"));
    }
  }
  return absl::OkStatus();
}

// `fn` over the batch in micro-batches under no-grad, per-token results put back at full width.
absl::StatusOr<at::Tensor> NoGradPerToken(
    const PackedBatch& packed, int64_t micro,
    absl::FunctionRef<absl::StatusOr<at::Tensor>(const PackedBatch&)> fn,
    const std::function<absl::Status()>& keep_going) {
  at::NoGradGuard no_grad;
  at::Tensor out;
  RETURN_IF_ERROR(GuardTorch("no-grad pass", [&]() -> absl::Status {
    out = at::zeros({packed.rows(), packed.width() - 1},
                    packed.input_ids.options().dtype(at::kFloat));
    return absl::OkStatus();
  }));
  for (int64_t begin = 0; begin < packed.rows(); begin += micro) {
    if (keep_going) RETURN_IF_ERROR(keep_going());
    std::vector<int64_t> rows(std::min(micro, packed.rows() - begin));
    std::iota(rows.begin(), rows.end(), begin);
    ASSIGN_OR_RETURN(PackedBatch part, SelectRows(packed, rows));
    ASSIGN_OR_RETURN(at::Tensor values, fn(part));
    RETURN_IF_ERROR(GuardTorch("no-grad pass", [&]() -> absl::Status {
      out.narrow(0, begin, part.rows()).narrow(1, 0, part.width() - 1).copy_(values);
      return absl::OkStatus();
    }));
  }
  return out;
}

// {Σ |logprobs - behaviour| over mask, Σ mask}: this rank's part of the mean difference.
absl::StatusOr<std::vector<double>> BehaviourDiffSums(const at::Tensor& logprobs,
                                                      const at::Tensor& behaviour,
                                                      const at::Tensor& mask) {
  return GuardTorch("logprob diff", [&]() -> absl::StatusOr<std::vector<double>> {
    return std::vector<double>{logprobs.sub(behaviour).abs().mul(mask).sum().item<double>(),
                               mask.sum().item<double>()};
  });
}

// Sums of the per-micro-batch figures, token-weighted where PpoStats are token means.
struct UpdateTotals {
  double policy_loss = 0;  // Σ over minibatches of the minibatch loss
  double value_loss = 0;
  double entropy = 0;  // Σ stat·tokens
  double approx_kl = 0;
  double clip_fraction = 0;
  double tokens = 0;
  double grad_norm = 0;  // Σ over optimizer steps
  double critic_grad_norm = 0;
  double learning_rate = 0;
  int64_t steps = 0;
  bool early_stopped = false;
};

}  // namespace

absl::Status ValidateExperienceBatch(config::LearnerMode mode,
                                     const rein::v1::ExperienceBatch& batch,
                                     const SequenceLimits& limits) {
  if (batch.experiences().empty()) return absl::InvalidArgumentError("experiences: empty batch");
  std::vector<uint64_t> groups;
  for (int i = 0; i < batch.experiences_size(); ++i) {
    const rein::v1::Experience& e = batch.experiences(i);
    const std::string what =
        absl::StrCat("experiences[", i, "] (sequence_id ", e.sequence().sequence_id(), ")");
    RETURN_IF_ERROR(CheckSequence(e.sequence(), limits, what));
    const int response = e.sequence().response_ids_size();
    if (e.behaviour_logprobs_size() != response) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.behaviour_logprobs_size(),
                                                     " behaviour_logprobs for ", response,
                                                     " response tokens"));
    }
    if (e.reference_logprobs_size() != response) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.reference_logprobs_size(),
                                                     " reference_logprobs for ", response,
                                                     " response tokens"));
    }
    if (!std::isfinite(e.reward())) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": reward ", e.reward(), " is not finite"));
    }
    RETURN_IF_ERROR(CheckFinite(e.behaviour_logprobs(), what, "behaviour_logprobs"));
    RETURN_IF_ERROR(CheckFinite(e.reference_logprobs(), what, "reference_logprobs"));
    groups.push_back(e.group_id());
  }
  if (mode == config::LearnerMode::kGrpo || mode == config::LearnerMode::kRloo) {
    return GroupRows(groups).status();
  }
  return absl::OkStatus();
}

// The rollout's log-probs are π_old itself when every sample came from the current weights,
// drawn from the policy's own distribution (temperature 1, no top-k or top-p). Every rank
// decides alike: the recompute and the difference's sums are collectives.
absl::StatusOr<bool> BehaviourIsExact(LearnerState& state, const rein::v1::ExperienceBatch& batch) {
  const config::SamplingConfig& s = state.options().sampling;
  bool exact = state.options().ppo.reuse_behaviour_logprobs && s.temperature == 1.0 &&
               s.top_k == 0 && s.top_p >= 1.0;
  for (const rein::v1::Experience& e : batch.experiences()) {
    exact = exact && e.policy_version() == state.progress().policy_version;
  }
  ASSIGN_OR_RETURN(std::vector<double> inexact, GlobalSums(state.comm(), {exact ? 0.0 : 1.0}));
  return inexact[0] == 0;
}

absl::StatusOr<StepOutcome> RlStep(LearnerState& state, const rein::v1::ExperienceBatch& batch,
                                   const std::function<absl::Status()>& keep_going) {
  const config::LearnerMode mode = state.mode();
  const config::PpoConfig& ppo = state.options().ppo;
  const int64_t micro = state.options().learner.micro_batch_size;
  model::CausalLM& policy = state.policy();
  model::CausalLM* critic = state.critic();
  const c10::Device device = policy.device();

  std::vector<const TokenIds*> prompts, responses;
  std::vector<const google::protobuf::RepeatedField<float>*> behaviour_lp, reference_lp;
  std::vector<float> rewards;
  AdvantageInputs in;
  for (const rein::v1::Experience& e : batch.experiences()) {
    prompts.push_back(&e.sequence().prompt_ids());
    responses.push_back(&e.sequence().response_ids());
    behaviour_lp.push_back(&e.behaviour_logprobs());
    reference_lp.push_back(&e.reference_logprobs());
    rewards.push_back(e.reward());
    in.group_ids.push_back(e.group_id());
  }
  ASSIGN_OR_RETURN(PackedBatch packed, PackSequences(prompts, responses, device));
  packed.pack = state.options().model.sequence_packing;
  ASSIGN_OR_RETURN(at::Tensor behaviour, ScatterResponseValues(packed, behaviour_lp));
  ASSIGN_OR_RETURN(in.ref_logprobs, ScatterResponseValues(packed, reference_lp));
  in.mask = packed.response_mask;
  in.comm = state.comm();
  dist::Communicator* const comm = state.comm();
  const double world = static_cast<double>(state.world_size());
  const at::Tensor raw_scores = FloatTensor(rewards, device);

  // 1. π_old and V_old.
  ASSIGN_OR_RETURN(const bool reuse_behaviour, BehaviourIsExact(state, batch));
  if (reuse_behaviour) {
    in.logprobs = behaviour;
  } else {
    ASSIGN_OR_RETURN(in.logprobs,
                     NoGradPerToken(packed, micro, [&](const PackedBatch& part) -> absl::StatusOr<at::Tensor> {
                       ASSIGN_OR_RETURN(PolicyForward f, RunPolicy(policy, part, false));
                       return f.logprobs;
                     }, keep_going));
  }
  if (critic != nullptr) {
    ASSIGN_OR_RETURN(in.values, NoGradPerToken(packed, micro, [&](const PackedBatch& part) {
                       return RunCritic(*critic, part);
                     }, keep_going));
  }
  StepOutcome out;
  // Σ |π_old - behaviour| and the tokens it is over: the whole batch when π_old was recomputed,
  // else the first minibatch, whose forward runs at the unchanged weights.
  std::vector<double> diff_sums = {0, 0};
  if (!reuse_behaviour) {
    ASSIGN_OR_RETURN(diff_sums, BehaviourDiffSums(in.logprobs, behaviour, in.mask));
  }

  // 2. Scores.
  if (rl::RewardNormalizer* normalizer = state.reward_normalizer(); normalizer != nullptr) {
    ASSIGN_OR_RETURN(in.scores, GlobalNormalizeScores(comm, *normalizer, raw_scores));
  } else if (ppo.reward_clip > 0) {
    in.scores = raw_scores.clamp(-ppo.reward_clip, ppo.reward_clip);
  } else {
    in.scores = raw_scores;
  }

  // 3. Advantages.
  const double beta = state.progress().kl_coef;
  in.reward_kl_coef = ppo.kl_in_reward ? beta : 0.0;
  ASSIGN_OR_RETURN(Advantages adv, ComputeAdvantages(mode, ppo, in));
  if (critic != nullptr) {
    ASSIGN_OR_RETURN(double ev,
                     GlobalExplainedVariance(comm, in.values, adv.returns, in.mask));
    out.stats["value/explained_variance"] = ev;
  }

  // 4. Updates: from here on the step runs to its end.
  if (keep_going) RETURN_IF_ERROR(keep_going());
  rl::PpoLossOptions loss_options;
  loss_options.policy = {.clip_low = ppo.clip_epsilon, .clip_high = ppo.clip_epsilon,
                         .dual_clip = ppo.dual_clip};
  loss_options.value_clip = ppo.value_clip;
  loss_options.entropy_coef = ppo.entropy_coef;
  loss_options.kl_loss_coef = ppo.kl_in_reward ? 0.0 : beta;
  loss_options.kl_loss_estimator = ToKlEstimator(ppo.kl_estimator);

  at::AutoGradMode grad(true);
  UpdateTotals totals;
  const int64_t rows = packed.rows();
  const int64_t minibatches = std::min<int64_t>(ppo.minibatches, rows);
  for (int epoch = 0; epoch < ppo.epochs && !totals.early_stopped; ++epoch) {
    std::vector<int64_t> order(rows);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), state.rng());
    for (int64_t m = 0; m < minibatches && !totals.early_stopped; ++m) {
      const std::vector<int64_t> mb(order.begin() + m * rows / minibatches,
                                    order.begin() + (m + 1) * rows / minibatches);
      double normalizer = 0;
      for (int64_t r : mb) normalizer += packed.lengths[r] - packed.prompt_lengths[r];
      if (world > 1) {
        // The minibatch's tokens over every rank, shared out so that the average of the ranks'
        // gradients is the whole minibatch's (see optimizer_step.h).
        ASSIGN_OR_RETURN(std::vector<double> tokens, GlobalSums(comm, {normalizer}));
        normalizer = tokens[0] / world;
      }
      double mb_kl = 0, mb_tokens = 0;
      for (size_t begin = 0; begin < mb.size(); begin += micro) {
        const std::vector<int64_t> part_rows(
            mb.begin() + begin, mb.begin() + std::min(mb.size(), begin + micro));
        absl::Status done = [&]() -> absl::Status {
          ASSIGN_OR_RETURN(PackedBatch part, SelectRows(packed, part_rows));
          ASSIGN_OR_RETURN(PolicyForward f, RunPolicy(policy, part, true));
          if (reuse_behaviour && epoch == 0 && m == 0) {
            ASSIGN_OR_RETURN(std::vector<double> sums,
                             BehaviourDiffSums(f.logprobs.detach(),
                                               SelectTokenRows(behaviour, part_rows, part),
                                               part.response_mask));
            diff_sums[0] += sums[0];
            diff_sums[1] += sums[1];
          }
          rl::PpoBatch pb;
          pb.logprobs = f.logprobs;
          pb.entropy = ppo.entropy_coef > 0 ? f.entropy : f.entropy.detach();
          pb.old_logprobs = SelectTokenRows(in.logprobs, part_rows, part);
          pb.advantages = SelectTokenRows(adv.advantages, part_rows, part);
          pb.mask = part.response_mask;
          if (loss_options.kl_loss_coef > 0) {
            pb.ref_logprobs = SelectTokenRows(in.ref_logprobs, part_rows, part);
          }
          if (critic != nullptr) {
            ASSIGN_OR_RETURN(pb.values, RunCritic(*critic, part));
            pb.old_values = SelectTokenRows(in.values, part_rows, part);
            pb.returns = SelectTokenRows(adv.returns, part_rows, part);
          }
          pb.normalizer = normalizer;
          ASSIGN_OR_RETURN(rl::PpoLossOutput loss, rl::PpoLoss(pb, loss_options));
          if (begin + micro >= mb.size()) state.ArmGradientSync();
          RETURN_IF_ERROR(GuardTorch("ppo backward", [&]() -> absl::Status {
            loss.loss.backward();
            return absl::OkStatus();
          }));
          const double tokens = static_cast<double>(part.ResponseTokens());
          totals.policy_loss += loss.stats.policy_loss;
          totals.value_loss += loss.stats.value_loss;
          totals.entropy += loss.stats.entropy * tokens;
          totals.approx_kl += loss.stats.approx_kl * tokens;
          totals.clip_fraction += loss.stats.clip_fraction * tokens;
          totals.tokens += tokens;
          out.tokens += part.Tokens();
          mb_kl += loss.stats.approx_kl * tokens;
          mb_tokens += tokens;
          return absl::OkStatus();
        }();
        if (!done.ok()) {
          ZeroGradients(state);
          return done;
        }
      }
      ASSIGN_OR_RETURN(OptimizerStepReport report, ApplyOptimizerStep(state));
      totals.grad_norm += report.policy_grad_norm;
      totals.critic_grad_norm += report.critic_grad_norm;
      totals.learning_rate = report.learning_rate;
      ++totals.steps;
      if (ppo.early_stop_kl > 0 && world > 1) {
        // Every rank must agree on stopping: the KL of the whole minibatch.
        ASSIGN_OR_RETURN(std::vector<double> kl, GlobalSums(comm, {mb_kl, mb_tokens}));
        mb_kl = kl[0];
        mb_tokens = kl[1];
      }
      if (ppo.early_stop_kl > 0 && mb_kl / mb_tokens > ppo.early_stop_kl) {
        totals.early_stopped = true;
      }
    }
  }

  ASSIGN_OR_RETURN(diff_sums, GlobalSums(comm, std::move(diff_sums)));
  out.stats["ppo/behaviour_logprob_diff"] = diff_sums[1] > 0 ? diff_sums[0] / diff_sums[1] : 0.0;
  out.stats["ppo/old_logprobs_recomputed"] = reuse_behaviour ? 0.0 : 1.0;

  // Statistics of the whole batch: token-weighted sums and tokens add up over the ranks; each
  // rank's losses are already scaled to the whole minibatch's normaliser / world (their mean
  // is the whole minibatch's loss).
  ASSIGN_OR_RETURN(std::vector<double> sums,
                   GlobalSums(comm, {raw_scores.sum().item<double>(),
                                     static_cast<double>(raw_scores.numel()), totals.policy_loss,
                                     totals.value_loss, totals.entropy, totals.approx_kl,
                                     totals.clip_fraction, totals.tokens,
                                     static_cast<double>(out.tokens)}));
  const double raw_mean = sums[0] / sums[1];
  totals.policy_loss = sums[2] / world;
  totals.value_loss = sums[3] / world;
  totals.entropy = sums[4];
  totals.approx_kl = sums[5];
  totals.clip_fraction = sums[6];
  totals.tokens = sums[7];
  out.tokens = static_cast<int64_t>(sums[8]);
  const double steps = static_cast<double>(totals.steps);
  out.stats["reward/mean"] = raw_mean;
  out.stats["kl/mean"] = adv.mean_sequence_kl;
  out.stats["entropy"] = totals.entropy / totals.tokens;
  out.stats["loss/policy"] = totals.policy_loss / steps;
  if (critic != nullptr) {
    out.stats["loss/value"] = totals.value_loss / steps;
    out.stats["critic/grad_norm"] = totals.critic_grad_norm / steps;
  }
  out.stats["clip_fraction"] = totals.clip_fraction / totals.tokens;
  out.stats["approx_kl"] = totals.approx_kl / totals.tokens;
  out.stats[kStatGradNorm] = totals.grad_norm / steps;
  out.stats[kStatLearningRate] = totals.learning_rate;
  out.stats["ppo/early_stopped"] = totals.early_stopped ? 1.0 : 0.0;
  out.stats[kStatOptimizerSteps] = steps;
  out.loss = out.stats["loss/policy"];
  out.kl = adv.mean_sequence_kl;
  out.reward = raw_mean;
  return out;
}

}  // namespace rein::learner
