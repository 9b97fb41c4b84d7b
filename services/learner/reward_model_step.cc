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

struct MicroResult {
  double loss = 0;
  double correct = 0;  // right-order pairs (ties of score count ½)
  int64_t pairs = 0;   // untied ordered pairs
  int64_t tokens = 0;
};

// Loss of preferences [begin, end) divided by `normalizer` (the step's preference count), with
// its gradient accumulated.
absl::StatusOr<MicroResult> MicroBatchLoss(LearnerState& state,
                                           const rein::v1::PreferenceBatch& batch, int begin,
                                           int end, double normalizer) {
  const c10::Device device = state.policy().device();
  std::vector<const TokenIds*> prompts, responses;
  std::vector<int64_t> offset;
  for (int i = begin; i < end; ++i) {
    const rein::v1::Preference& p = batch.preferences(i);
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
    for (int i = begin; i < end; ++i) {
      list_width = std::max<int64_t>(list_width, batch.preferences(i).responses_size());
    }
    at::Tensor loss = at::zeros({}, scores.options());
    for (int i = begin; i < end; ++i) {
      const rein::v1::Preference& p = batch.preferences(i);
      const int64_t o = offset[i - begin];
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
    loss.backward();
    result.loss = loss.item<double>();
    return result;
  });
}

}  // namespace

absl::Status ValidatePreferenceBatch(const rein::v1::PreferenceBatch& batch,
                                     const SequenceLimits& limits) {
  if (batch.preferences().empty()) {
    return absl::InvalidArgumentError("preferences: empty batch");
  }
  for (int i = 0; i < batch.preferences_size(); ++i) {
    const rein::v1::Preference& p = batch.preferences(i);
    const std::string what = absl::StrCat("preferences[", i, "]");
    if (p.responses_size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": ", p.responses_size(), " responses; a preference compares at least two"));
    }
    if (!p.tied_with_next().empty() && p.tied_with_next_size() != p.responses_size() - 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": tied_with_next has ", p.tied_with_next_size(), " entries for ",
                       p.responses_size(), " responses (want none or ", p.responses_size() - 1,
                       ")"));
    }
    if (!std::isfinite(p.margin()) || p.margin() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": margin ", p.margin(), " is not a finite number >= 0"));
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

absl::StatusOr<StepOutcome> RewardModelStep(LearnerState& state,
                                            const rein::v1::PreferenceBatch& batch) {
  at::AutoGradMode grad(true);
  const config::LearnerConfig& c = state.options().learner;
  // Micro-batches: whole preferences, up to micro_batch_size responses each.
  std::vector<std::pair<int, int>> micro;
  for (int i = 0; i < batch.preferences_size();) {
    int end = i, responses = 0;
    while (end < batch.preferences_size() &&
           (end == i || responses + batch.preferences(end).responses_size() <=
                            c.micro_batch_size)) {
      responses += batch.preferences(end).responses_size();
      ++end;
    }
    micro.emplace_back(i, end);
    i = end;
  }
  StepOutcome out;
  double loss_sum = 0, correct = 0, grad_norm_sum = 0, learning_rate = 0;
  int64_t pairs = 0, steps = 0;
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
      out.tokens += r->tokens;
    }
    ASSIGN_OR_RETURN(OptimizerStepReport report, ApplyOptimizerStep(state));
    grad_norm_sum += report.policy_grad_norm;
    learning_rate = report.learning_rate;
    ++steps;
  }
  out.loss = loss_sum / batch.preferences_size();
  out.stats["loss/preference"] = out.loss;
  out.stats["accuracy"] = pairs > 0 ? correct / static_cast<double>(pairs) : 0.0;
  out.stats[kStatGradNorm] = grad_norm_sum / static_cast<double>(steps);
  out.stats[kStatLearningRate] = learning_rate;
  out.stats[kStatOptimizerSteps] = static_cast<double>(steps);
  return out;
}

}  // namespace rein::learner
