#include "services/learner/offline_preference_step.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rl/optim.h"
#include "common/rl/sft_dpo.h"
#include "common/status/status_macros.h"
#include "services/learner/dist_stats.h"
#include "services/learner/model_forward.h"
#include "services/learner/optimizer_step.h"

namespace rein::learner {
namespace {

using rein::v1::OfflinePreference;
using rein::v1::OfflinePreferenceBatch;

bool Paired(config::LearnerMode mode) { return mode != config::LearnerMode::kKto; }

const char* LossName(config::LearnerMode mode) {
  switch (mode) {
    case config::LearnerMode::kIpo: return "loss/ipo";
    case config::LearnerMode::kKto: return "loss/kto";
    default: return "loss/dpo";
  }
}

// Host doubles as a float tensor on `device`.
at::Tensor Values(const std::vector<double>& values, c10::Device device) {
  return at::tensor(values, at::TensorOptions().dtype(at::kDouble)).to(device, at::kFloat);
}

// The policy's log-probability of each row of `packed` [rows] (with graph in grad mode):
// summed over response tokens, or their mean when `length_normalise`.
absl::StatusOr<at::Tensor> PolicySequenceLogProbs(LearnerState& state, const PackedBatch& packed,
                                                  bool length_normalise) {
  ASSIGN_OR_RETURN(PolicyForward f, RunPolicy(state.policy(), packed, false));
  return rl::SequenceLogProbs(f.logprobs, packed.response_mask, length_normalise);
}

// The rows of examples [begin, end): one per response (dpo/ipo: chosen then rejected).
std::vector<int64_t> RowsOf(int64_t begin, int64_t end, int64_t per_example) {
  std::vector<int64_t> rows;
  for (int64_t r = begin * per_example; r < end * per_example; ++r) rows.push_back(r);
  return rows;
}

// KTO's reference point over every rank's mismatched pairs, before any update:
// max(0, Σ (π − ref) / count).
absl::StatusOr<double> GlobalReferencePoint(LearnerState& state, const OfflinePreferenceBatch& batch,
                                            int64_t micro) {
  at::NoGradGuard no_grad;
  std::vector<const TokenIds*> prompts, responses;
  std::vector<double> reference;
  for (const OfflinePreference& e : batch.examples()) {
    prompts.push_back(&e.kl_response().prompt_ids());
    responses.push_back(&e.kl_response().response_ids());
    reference.push_back(e.kl_reference_logprob());
  }
  ASSIGN_OR_RETURN(PackedBatch packed, PackSequences(prompts, responses, state.policy().device()));
  double gap = 0;
  for (int64_t begin = 0; begin < packed.rows(); begin += micro) {
    ASSIGN_OR_RETURN(PackedBatch part,
                     SelectRows(packed, RowsOf(begin, std::min(packed.rows(), begin + micro), 1)));
    ASSIGN_OR_RETURN(at::Tensor policy, PolicySequenceLogProbs(state, part, false));
    gap += policy.sum().item<double>();
  }
  for (double r : reference) gap -= r;
  ASSIGN_OR_RETURN(std::vector<double> totals,
                   GlobalSums(state.comm(), {gap, static_cast<double>(packed.rows())}));
  return std::max(0.0, totals[0] / totals[1]);
}

// Running sums of the per-example figures, for the stats.
struct Sums {
  double loss = 0, a = 0, b = 0, c = 0, d = 0;  // dpo: accuracy, chosen, rejected, margin
  double desirable = 0, undesirable = 0;        // kto: counts behind b and c
};

// One micro-batch's loss over examples [begin, end) of the batch, adding its figures to `sums`.
absl::StatusOr<at::Tensor> MicroBatchLoss(LearnerState& state, const OfflinePreferenceBatch& batch,
                                          const PackedBatch& packed, int64_t begin, int64_t end,
                                          double normalizer, double z0, Sums& sums) {
  const config::LearnerMode mode = state.mode();
  const config::DpoConfig& c = state.options().dpo;
  const int64_t per_example = Paired(mode) ? 2 : 1;
  ASSIGN_OR_RETURN(PackedBatch part, SelectRows(packed, RowsOf(begin, end, per_example)));
  const bool ipo = mode == config::LearnerMode::kIpo;
  ASSIGN_OR_RETURN(at::Tensor policy, PolicySequenceLogProbs(state, part, ipo));
  std::vector<double> reference;
  std::vector<double> desirable;
  for (int64_t i = begin; i < end; ++i) {
    const OfflinePreference& e = batch.examples(static_cast<int>(i));
    for (int r = 0; r < e.responses_size(); ++r) {
      // IPO compares per-token means: the reference's sum over the response's length.
      const double length = static_cast<double>(e.responses(r).response_ids_size());
      reference.push_back(ipo ? e.reference_logprobs(r) / length : e.reference_logprobs(r));
    }
    desirable.push_back(e.desirable() ? 1.0 : 0.0);
  }
  const at::Tensor ref = Values(reference, policy.device());
  const double n = static_cast<double>(end - begin);
  if (Paired(mode)) {
    rl::DpoBatch pairs{.policy_chosen = policy.slice(0, 0, policy.size(0), 2),
                       .policy_rejected = policy.slice(0, 1, policy.size(0), 2),
                       .reference_chosen = ref.slice(0, 0, ref.size(0), 2),
                       .reference_rejected = ref.slice(0, 1, ref.size(0), 2),
                       .normalizer = normalizer};
    const rl::DpoOptions options{.beta = c.beta, .label_smoothing = c.label_smoothing};
    ASSIGN_OR_RETURN(rl::DpoOutput out, ipo ? rl::IpoLoss(pairs, options) : rl::DpoLoss(pairs, options));
    sums.a += out.reward_accuracy * n;
    sums.b += out.chosen_reward * n;
    sums.c += out.rejected_reward * n;
    sums.d += out.reward_margin * n;
    return out.loss;
  }
  rl::KtoBatch kto{.policy = policy,
                   .reference = ref,
                   .desirable = Values(desirable, policy.device()),
                   .normalizer = normalizer,
                   .z0 = z0};
  ASSIGN_OR_RETURN(rl::KtoOutput out,
                   rl::KtoLoss(kto, {.beta = c.beta,
                                     .desirable_weight = c.desirable_weight,
                                     .undesirable_weight = c.undesirable_weight}));
  const double wanted = std::count(desirable.begin(), desirable.end(), 1.0);
  sums.b += out.desirable_reward * wanted;
  sums.c += out.undesirable_reward * (n - wanted);
  sums.desirable += wanted;
  sums.undesirable += n - wanted;
  return out.loss;
}

}  // namespace

absl::Status ValidateOfflinePreferenceBatch(config::LearnerMode mode,
                                            const OfflinePreferenceBatch& batch,
                                            const SequenceLimits& limits) {
  if (batch.examples().empty()) {
    return absl::InvalidArgumentError("offline_preferences: empty batch");
  }
  const int want = Paired(mode) ? 2 : 1;
  for (int i = 0; i < batch.examples_size(); ++i) {
    const OfflinePreference& e = batch.examples(i);
    const std::string what = absl::StrCat("offline_preferences.examples[", i, "]");
    if (e.responses_size() != want) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", config::EnumName(mode), " needs ",
                                                     want, " response(s), got ",
                                                     e.responses_size()));
    }
    if (e.reference_logprobs_size() != want ||
        !std::all_of(e.reference_logprobs().begin(), e.reference_logprobs().end(),
                     [](double v) { return std::isfinite(v) && v <= 0; })) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": reference_logprobs must be one finite log-probability (<= 0) per response"));
    }
    for (int r = 0; r < want; ++r) {
      RETURN_IF_ERROR(CheckSequence(e.responses(r), limits, absl::StrCat(what, ".responses[", r, "]")));
    }
    if (!Paired(mode)) {
      RETURN_IF_ERROR(CheckSequence(e.kl_response(), limits, absl::StrCat(what, ".kl_response")));
      if (!std::isfinite(e.kl_reference_logprob()) || e.kl_reference_logprob() > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": kl_reference_logprob must be a finite log-probability (<= 0)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StepOutcome> OfflinePreferenceStep(LearnerState& state,
                                                  const OfflinePreferenceBatch& batch) {
  const config::LearnerMode mode = state.mode();
  const config::LearnerConfig& c = state.options().learner;
  const int64_t per_example = Paired(mode) ? 2 : 1;
  const int64_t micro = std::max<int64_t>(1, c.micro_batch_size / per_example);
  const int64_t per_step = micro * c.gradient_accumulation;
  const int64_t examples = batch.examples_size();

  double z0 = 0;
  if (!Paired(mode)) {
    ASSIGN_OR_RETURN(z0, GlobalReferencePoint(state, batch, micro));
  }
  at::AutoGradMode grad(true);
  std::vector<const TokenIds*> prompts, responses;
  for (const OfflinePreference& e : batch.examples()) {
    for (const rein::v1::TokenSequence& s : e.responses()) {
      prompts.push_back(&s.prompt_ids());
      responses.push_back(&s.response_ids());
    }
  }
  ASSIGN_OR_RETURN(PackedBatch packed, PackSequences(prompts, responses, state.policy().device()));
  StepOutcome out;
  Sums sums;
  double grad_norm_sum = 0, learning_rate = 0;
  int64_t steps = 0;
  for (int64_t begin = 0; begin < examples; begin += per_step) {
    // Data-parallel ranks hold equal example counts and their gradients are averaged, so each
    // normalising by its own count gives the mean over every rank's examples.
    const int64_t count = std::min(per_step, examples - begin);
    const double normalizer = static_cast<double>(count);
    absl::StatusOr<double> step_loss = rl::AccumulateGradients(
        count, micro, [&](const rl::MicroBatch& mb) -> absl::StatusOr<at::Tensor> {
          if (mb.end == count) state.ArmGradientSync();
          return MicroBatchLoss(state, batch, packed, begin + mb.begin, begin + mb.end,
                                normalizer, z0, sums);
        });
    if (!step_loss.ok()) {
      ZeroGradients(state);
      return step_loss.status();
    }
    ASSIGN_OR_RETURN(OptimizerStepReport report, ApplyOptimizerStep(state));
    sums.loss += *step_loss * normalizer;
    grad_norm_sum += report.policy_grad_norm;
    learning_rate = report.learning_rate;
    ++steps;
  }
  out.tokens = packed.Tokens();
  ASSIGN_OR_RETURN(std::vector<double> totals,
                   GlobalSums(state.comm(), {sums.loss, sums.a, sums.b, sums.c, sums.d,
                                             sums.desirable, sums.undesirable,
                                             static_cast<double>(examples),
                                             static_cast<double>(out.tokens)}));
  const double n = totals[7];
  out.tokens = static_cast<int64_t>(totals[8]);
  out.loss = totals[0] / n;
  out.stats[LossName(mode)] = out.loss;
  if (Paired(mode)) {
    out.stats["rewards/accuracy"] = totals[1] / n;
    out.stats["rewards/chosen"] = totals[2] / n;
    out.stats["rewards/rejected"] = totals[3] / n;
    out.stats["rewards/margin"] = totals[4] / n;
  } else {
    out.stats["kto/z0"] = z0;
    if (totals[5] > 0) out.stats["rewards/desirable"] = totals[2] / totals[5];
    if (totals[6] > 0) out.stats["rewards/undesirable"] = totals[3] / totals[6];
  }
  out.stats[kStatGradNorm] = grad_norm_sum / static_cast<double>(steps);
  out.stats[kStatLearningRate] = learning_rate;
  out.stats[kStatOptimizerSteps] = static_cast<double>(steps);
  return out;
}

}  // namespace rein::learner
