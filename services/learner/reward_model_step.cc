#include "services/learner/reward_model_step.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rl/preference.h"
#include "common/status/status_macros.h"
#include "services/learner/model_forward.h"
#include "services/learner/optimizer_step.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {
namespace {

const TokenIds& PromptOf(const rein::v1::Preference& p, int k) {
  return p.prompt_ids().empty() ? p.responses(k).prompt_ids() : p.prompt_ids();
}

// Tie block of each response: responses i and j are tied iff their blocks are equal.
std::vector<int> TieBlocks(const rein::v1::Preference& p) {
  std::vector<int> block(p.responses_size(), 0);
  for (int k = 1; k < p.responses_size(); ++k) {
    const bool tied = !p.tied_with_next().empty() && p.tied_with_next(k - 1);
    block[k] = block[k - 1] + (tied ? 0 : 1);
  }
  return block;
}

bool HasTies(const rein::v1::Preference& p) {
  for (bool t : p.tied_with_next()) {
    if (t) return true;
  }
  return false;
}

// −log σ(z) without overflow for large |z|.
double NegLogSigmoid(double z) {
  return z >= 0 ? std::log1p(std::exp(-z)) : -z + std::log1p(std::exp(z));
}

struct MicroResult {
  double loss = 0;
  double correct = 0;  // right-order pairs (ties of score count ½)
  int64_t pairs = 0;   // untied ordered pairs
  double unpaired_loss = 0;     // Σ binary loss of the unpaired judgements
  double unpaired_correct = 0;  // reward of the label's sign (a zero reward counts ½)
  int64_t unpaired = 0;
  int64_t tokens = 0;
};

// Loss of judgements [begin, end) divided by `normalizer` (the step's judgement count), with
// its gradient accumulated.
absl::StatusOr<MicroResult> MicroBatchLoss(LearnerState& state,
                                           const std::vector<RewardJudgement>& batch, int begin,
                                           int end, double normalizer) {
  const c10::Device device = state.policy().device();
  std::vector<const TokenIds*> prompts, responses;
  std::vector<int64_t> offset;
  for (int i = begin; i < end; ++i) {
    const rein::v1::Preference& p = *batch[i].preference;
    offset.push_back(static_cast<int64_t>(responses.size()));
    for (int k = 0; k < p.responses_size(); ++k) {
      prompts.push_back(&PromptOf(p, k));
      responses.push_back(&p.responses(k).response_ids());
    }
  }
  ASSIGN_OR_RETURN(PackedBatch packed, PackSequences(prompts, responses, device));
  ASSIGN_OR_RETURN(at::Tensor scores, RunScores(state.policy(), packed));
  MicroResult result;
  result.tokens = packed.Tokens();

  return GuardTorch("preference loss", [&]() -> absl::StatusOr<MicroResult> {
    const at::Tensor host_scores = scores.detach().to(at::kCPU).to(at::kDouble);
    const auto s = host_scores.accessor<double, 1>();
    // Pairs (two responses), tie-free rankings, and rankings with ties (as their pairs).
    std::vector<int64_t> chosen, rejected;
    std::vector<float> margin, tie;
    std::vector<int64_t> list_index;
    std::vector<float> list_valid;
    int64_t list_rows = 0, list_width = 0;
    // Unpaired judgements: the score's index and the label (1 = approved).
    std::vector<int64_t> unpaired_index;
    std::vector<float> unpaired_label;
    for (int i = begin; i < end; ++i) {
      if (batch[i].label.has_value()) continue;
      list_width = std::max<int64_t>(list_width, batch[i].preference->responses_size());
    }
    at::Tensor loss = at::zeros({}, scores.options());
    for (int i = begin; i < end; ++i) {
      const rein::v1::Preference& p = *batch[i].preference;
      const int64_t o = offset[i - begin];
      if (batch[i].label.has_value()) {
        const bool approved = *batch[i].label;
        const double r = s[o];
        ++result.unpaired;
        result.unpaired_loss += NegLogSigmoid(approved ? r : -r);
        result.unpaired_correct += r == 0 ? 0.5 : ((r > 0) == approved ? 1.0 : 0.0);
        unpaired_index.push_back(o);
        unpaired_label.push_back(approved ? 1.0f : 0.0f);
        continue;
      }
      const int k_count = p.responses_size();
      const std::vector<int> block = TieBlocks(p);
      for (int a = 0; a < k_count; ++a) {
        for (int b = a + 1; b < k_count; ++b) {
          if (block[a] == block[b]) continue;
          ++result.pairs;
          const double d = s[o + a] - s[o + b];
          result.correct += d > 0 ? 1.0 : (d == 0 ? 0.5 : 0.0);
        }
      }
      if (k_count == 2) {
        chosen.push_back(o);
        rejected.push_back(o + 1);
        margin.push_back(p.margin());
        tie.push_back(block[0] == block[1] ? 1.0f : 0.0f);
      } else if (!HasTies(p)) {
        for (int64_t k = 0; k < list_width; ++k) {
          list_index.push_back(k < k_count ? o + k : o);
          list_valid.push_back(k < k_count ? 1.0f : 0.0f);
        }
        ++list_rows;
      } else {
        std::vector<int64_t> c, r;
        std::vector<float> t;
        for (int a = 0; a < k_count; ++a) {
          for (int b = a + 1; b < k_count; ++b) {
            c.push_back(o + a);
            r.push_back(o + b);
            t.push_back(block[a] == block[b] ? 1.0f : 0.0f);
          }
        }
        rl::PreferencePairs pairs{.chosen = scores.index_select(0, LongTensor(c, device)),
                                  .rejected = scores.index_select(0, LongTensor(r, device)),
                                  .tie = FloatTensor(t, device)};
        ASSIGN_OR_RETURN(at::Tensor l, rl::BradleyTerryLoss(
                                           pairs, normalizer * static_cast<double>(c.size())));
        loss = loss + l;
      }
    }
    if (!chosen.empty()) {
      rl::PreferencePairs pairs{.chosen = scores.index_select(0, LongTensor(chosen, device)),
                                .rejected = scores.index_select(0, LongTensor(rejected, device)),
                                .margin = FloatTensor(margin, device),
                                .tie = FloatTensor(tie, device)};
      ASSIGN_OR_RETURN(at::Tensor l, rl::BradleyTerryLoss(pairs, normalizer));
      loss = loss + l;
    }
    if (list_rows > 0) {
      const at::Tensor list_scores =
          scores.index_select(0, LongTensor(list_index, device)).reshape({list_rows, list_width});
      const at::Tensor valid = FloatTensor(list_valid, device).reshape({list_rows, list_width});
      ASSIGN_OR_RETURN(at::Tensor l, rl::PlackettLuceLoss(list_scores, valid, normalizer));
      loss = loss + l;
    }
    if (!unpaired_index.empty()) {
      const at::Tensor unpaired_scores =
          scores.index_select(0, LongTensor(unpaired_index, device));
      ASSIGN_OR_RETURN(at::Tensor l, rl::BinaryRewardLoss(unpaired_scores,
                                                          FloatTensor(unpaired_label, device),
                                                          normalizer));
      loss = loss + l;
    }
    loss.backward();
    result.loss = loss.item<double>();
    return result;
  });
}

}  // namespace

std::vector<RewardJudgement> JudgementsOf(const rein::v1::PreferenceBatch& batch) {
  std::vector<RewardJudgement> judgements;
  judgements.reserve(batch.preferences_size());
  for (const rein::v1::Preference& p : batch.preferences()) {
    judgements.push_back({&p, p.has_label() ? std::optional<bool>(p.label()) : std::nullopt});
  }
  return judgements;
}

absl::Status ValidatePreferenceBatch(const std::vector<RewardJudgement>& judgements,
                                     const SequenceLimits& limits) {
  if (judgements.empty()) {
    return absl::InvalidArgumentError("preferences: empty batch");
  }
  for (size_t i = 0; i < judgements.size(); ++i) {
    const rein::v1::Preference& p = *judgements[i].preference;
    const std::string what = absl::StrCat("preferences[", i, "]");
    if (judgements[i].label.has_value()) {
      // An unpaired judgement has nothing to tie with and no gap to keep.
      if (p.responses_size() != 1 || !p.tied_with_next().empty() || p.margin() != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": an unpaired judgement has one response, no ties and no margin (got ",
            p.responses_size(), " responses, ", p.tied_with_next_size(), " ties, margin ",
            p.margin(), ")"));
      }
    } else {
      if (p.responses_size() < 2) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": ", p.responses_size(), " responses; a preference compares at least two"));
      }
      if (!p.tied_with_next().empty() && p.tied_with_next_size() != p.responses_size() - 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": tied_with_next has ", p.tied_with_next_size(),
                         " entries for ", p.responses_size(), " responses (want none or ",
                         p.responses_size() - 1, ")"));
      }
      if (!std::isfinite(p.margin()) || p.margin() < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": margin ", p.margin(), " is not a finite number >= 0"));
      }
    }
    for (int k = 0; k < p.responses_size(); ++k) {
      RETURN_IF_ERROR(CheckTokens(
          PromptOf(p, k), p.responses(k).response_ids(), limits,
          absl::StrCat(what, ".responses[", k, "] (sequence_id ", p.responses(k).sequence_id(),
                       ")")));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePreferenceBatch(const rein::v1::PreferenceBatch& batch,
                                     const SequenceLimits& limits) {
  return ValidatePreferenceBatch(JudgementsOf(batch), limits);
}

absl::StatusOr<StepOutcome> RewardModelStep(LearnerState& state,
                                            const rein::v1::PreferenceBatch& batch) {
  return RewardModelStep(state, JudgementsOf(batch));
}

absl::StatusOr<StepOutcome> RewardModelStep(LearnerState& state,
                                            const std::vector<RewardJudgement>& batch) {
  at::AutoGradMode grad(true);
  const config::LearnerConfig& c = state.options().learner;
  const int count = static_cast<int>(batch.size());
  // Micro-batches: whole judgements, up to micro_batch_size responses each.
  std::vector<std::pair<int, int>> micro;
  for (int i = 0; i < count;) {
    int end = i, responses = 0;
    while (end < count && (end == i || responses + batch[end].preference->responses_size() <=
                                           c.micro_batch_size)) {
      responses += batch[end].preference->responses_size();
      ++end;
    }
    micro.emplace_back(i, end);
    i = end;
  }
  StepOutcome out;
  double loss_sum = 0, correct = 0, unpaired_loss = 0, unpaired_correct = 0;
  double grad_norm_sum = 0, learning_rate = 0;
  int64_t pairs = 0, unpaired = 0, steps = 0;
  for (size_t first = 0; first < micro.size(); first += c.gradient_accumulation) {
    const size_t last = std::min(micro.size(), first + c.gradient_accumulation);
    const double normalizer = micro[last - 1].second - micro[first].first;
    for (size_t m = first; m < last; ++m) {
      absl::StatusOr<MicroResult> r =
          MicroBatchLoss(state, batch, micro[m].first, micro[m].second, normalizer);
      if (!r.ok()) {
        ZeroGradients(state);
        return r.status();
      }
      loss_sum += r->loss * normalizer;
      correct += r->correct;
      pairs += r->pairs;
      unpaired_loss += r->unpaired_loss;
      unpaired_correct += r->unpaired_correct;
      unpaired += r->unpaired;
      out.tokens += r->tokens;
    }
    ASSIGN_OR_RETURN(OptimizerStepReport report, ApplyOptimizerStep(state));
    grad_norm_sum += report.policy_grad_norm;
    learning_rate = report.learning_rate;
    ++steps;
  }
  out.loss = loss_sum / count;
  out.stats["loss/preference"] = out.loss;
  // A share of nothing is not 0: a stat is left out when the batch has none of its kind.
  if (pairs > 0) out.stats["accuracy"] = correct / static_cast<double>(pairs);
  if (unpaired > 0) {
    out.stats["loss/unpaired"] = unpaired_loss / static_cast<double>(unpaired);
    out.stats["accuracy/unpaired"] = unpaired_correct / static_cast<double>(unpaired);
  }
  out.stats[kStatGradNorm] = grad_norm_sum / static_cast<double>(steps);
  out.stats[kStatLearningRate] = learning_rate;
  out.stats[kStatOptimizerSteps] = static_cast<double>(steps);
  return out;
}

}  // namespace rein::learner
