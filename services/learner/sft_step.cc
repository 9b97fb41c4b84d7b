#include "services/learner/sft_step.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rl/optim.h"
#include "common/rl/sft_dpo.h"
#include "common/status/status_macros.h"
#include "services/learner/dist_stats.h"
#include "services/learner/model_forward.h"
#include "services/learner/optimizer_step.h"

namespace rein::learner {

absl::Status ValidateSftBatch(const rein::v1::SftBatch& batch, const SequenceLimits& limits) {
  if (batch.examples().empty()) return absl::InvalidArgumentError("sft: empty batch");
  for (int i = 0; i < batch.examples_size(); ++i) {
    const rein::v1::TokenSequence& s = batch.examples(i).sequence();
    RETURN_IF_ERROR(CheckSequence(
        s, limits, absl::StrCat("sft.examples[", i, "] (sequence_id ", s.sequence_id(), ")")));
  }
  return absl::OkStatus();
}

absl::StatusOr<StepOutcome> SftStep(LearnerState& state, const rein::v1::SftBatch& batch) {
  at::AutoGradMode grad(true);
  std::vector<const TokenIds*> prompts, responses;
  for (const rein::v1::SftExample& e : batch.examples()) {
    prompts.push_back(&e.sequence().prompt_ids());
    responses.push_back(&e.sequence().response_ids());
  }
  ASSIGN_OR_RETURN(PackedBatch packed,
                   PackSequences(prompts, responses, state.policy().device()));
  const config::LearnerConfig& c = state.options().learner;
  const int64_t micro = c.micro_batch_size;
  const int64_t per_step = micro * c.gradient_accumulation;

  // Response tokens of each optimizer step, over every rank (data-parallel ranks hold equal
  // row counts, so they take the same steps); each rank normalises by its share, tokens / world,
  // so that the average of the ranks' gradients is the whole step's (optimizer_step.h).
  std::vector<double> step_tokens;
  for (int64_t begin = 0; begin < packed.rows(); begin += per_step) {
    double tokens = 0;
    for (int64_t r = begin; r < std::min(packed.rows(), begin + per_step); ++r) {
      tokens += static_cast<double>(packed.lengths[r] - packed.prompt_lengths[r]);
    }
    step_tokens.push_back(tokens);
  }
  step_tokens.push_back(static_cast<double>(packed.ResponseTokens()));
  ASSIGN_OR_RETURN(step_tokens, GlobalSums(state.comm(), std::move(step_tokens)));
  const double world = static_cast<double>(state.world_size());

  StepOutcome out;
  double loss_sum = 0, grad_norm_sum = 0, learning_rate = 0;
  int64_t steps = 0;
  for (int64_t begin = 0; begin < packed.rows(); begin += per_step) {
    std::vector<int64_t> rows(std::min(per_step, packed.rows() - begin));
    std::iota(rows.begin(), rows.end(), begin);
    const double normalizer = step_tokens[steps] / world;
    absl::StatusOr<double> step_loss = rl::AccumulateGradients(
        static_cast<int64_t>(rows.size()), micro,
        [&](const rl::MicroBatch& mb) -> absl::StatusOr<at::Tensor> {
          ASSIGN_OR_RETURN(PackedBatch part,
                           SelectRows(packed, std::vector<int64_t>(rows.begin() + mb.begin,
                                                                   rows.begin() + mb.end)));
          out.tokens += part.Tokens();
          if (mb.end == static_cast<int64_t>(rows.size())) state.ArmGradientSync();
          ASSIGN_OR_RETURN(PolicyForward f, RunPolicy(state.policy(), part, false));
          return rl::SftLoss(f.logits, f.targets, part.response_mask,
                             rl::Aggregation::kTokenMean, normalizer);
        });
    if (!step_loss.ok()) {
      ZeroGradients(state);
      return step_loss.status();
    }
    ASSIGN_OR_RETURN(OptimizerStepReport report, ApplyOptimizerStep(state));
    loss_sum += *step_loss * normalizer;
    grad_norm_sum += report.policy_grad_norm;
    learning_rate = report.learning_rate;
    ++steps;
  }
  ASSIGN_OR_RETURN(std::vector<double> totals,
                   GlobalSums(state.comm(), {loss_sum, static_cast<double>(out.tokens)}));
  out.tokens = static_cast<int64_t>(totals[1]);
  const double loss = totals[0] / step_tokens.back();
  out.stats["loss/sft"] = loss;
  out.stats[kStatGradNorm] = grad_norm_sum / static_cast<double>(steps);
  out.stats[kStatLearningRate] = learning_rate;
  out.stats[kStatOptimizerSteps] = static_cast<double>(steps);
  out.loss = loss;
  return out;
}

}  // namespace rein::learner
