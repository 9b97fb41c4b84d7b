#include "common/model/scoring.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/model/internal/errors.h"
#include "common/model/internal/transformer.h"
#include "common/status/status_macros.h"

namespace rein::model {
namespace {

using internal::TorchCall;

// The [B, T] bool mask of real tokens of `batch`, on `device`.
at::Tensor RealTokens(const TokenBatch& batch, c10::Device device) {
  if (batch.attention_mask.defined()) return batch.attention_mask.to(device).ne(0);
  return at::ones(batch.input_ids.sizes(), at::TensorOptions().dtype(at::kBool).device(device));
}

absl::Status CheckHiddenMatchesBatch(const at::Tensor& hidden, const TokenBatch& batch) {
  if (!hidden.defined() || hidden.dim() != 3 || !batch.input_ids.defined() ||
      batch.input_ids.dim() != 2 || hidden.size(0) != batch.input_ids.size(0) ||
      hidden.size(1) != batch.input_ids.size(1)) {
    return absl::InvalidArgumentError("hidden states must be [B, T, hidden] for input_ids [B, T]");
  }
  return absl::OkStatus();
}

// log_softmax(LM head(states))[wanted] for states [N, hidden] and wanted [N] ids: [N] float32,
// at most max_positions logit rows at a time.
at::Tensor GatherLogProbs(const internal::Transformer& impl, const at::Tensor& states,
                          const at::Tensor& wanted, int64_t max_positions) {
  std::vector<at::Tensor> chunks;
  for (int64_t start = 0; start < states.size(0); start += max_positions) {
    const int64_t n = std::min(max_positions, states.size(0) - start);
    at::Tensor logits = impl.LmLogits(states.narrow(0, start, n));
    chunks.push_back(
        at::log_softmax(logits, -1).gather(1, wanted.narrow(0, start, n).unsqueeze(1)).squeeze(1));
  }
  return chunks.empty() ? at::zeros({0}, states.options().dtype(at::kFloat)) : at::cat(chunks);
}

// ScoreSequences for sequences[i] of every i in `which` (each of at least 2 tokens), packed
// into one forward.
absl::Status ScorePacked(const CausalLM& model, const std::vector<std::vector<int64_t>>& sequences,
                         const std::vector<size_t>& which, const ScoringOptions& options,
                         std::vector<std::vector<float>>& result) {
  at::NoGradGuard no_grad;
  std::vector<int64_t> ids, lengths, predicting, targets;
  for (size_t i : which) {
    const std::vector<int64_t>& s = sequences[i];
    const int64_t offset = static_cast<int64_t>(ids.size());
    for (size_t t = 0; t + 1 < s.size(); ++t) {
      predicting.push_back(offset + static_cast<int64_t>(t));
      targets.push_back(s[t + 1]);
    }
    ids.insert(ids.end(), s.begin(), s.end());
    lengths.push_back(static_cast<int64_t>(s.size()));
  }
  at::Tensor flat_ids;
  RETURN_IF_ERROR(TorchCall("batching", [&] { flat_ids = at::tensor(ids, at::kLong); }));
  ASSIGN_OR_RETURN(at::Tensor hidden, model.HiddenPacked(flat_ids, lengths));
  const internal::Transformer& impl = internal::ModelAccess::Get(model);
  return TorchCall("scoring", [&] {
    const at::TensorOptions on_device = at::TensorOptions().dtype(at::kLong).device(model.device());
    at::Tensor states = hidden.index_select(0, at::tensor(predicting, at::kLong).to(on_device));
    at::Tensor wanted = at::tensor(targets, at::kLong).to(on_device);
    at::Tensor host =
        GatherLogProbs(impl, states, wanted, options.max_logit_positions).cpu().contiguous();
    const float* data = host.data_ptr<float>();
    for (size_t i : which) {
      const size_t n = sequences[i].size() - 1;
      result[i].assign(data, data + n);
      data += n;
    }
  });
}

// ScoreSequences for sequences[begin, end) padded to the longest, in one forward.
absl::Status ScorePadded(const CausalLM& model, const std::vector<std::vector<int64_t>>& sequences,
                         size_t begin, size_t end, const ScoringOptions& options,
                         std::vector<std::vector<float>>& result) {
  size_t longest = 0;
  for (size_t i = begin; i < end; ++i) longest = std::max(longest, sequences[i].size());
  const int64_t rows = static_cast<int64_t>(end - begin);
  const int64_t width = static_cast<int64_t>(longest);
  std::vector<int64_t> ids(static_cast<size_t>(rows * width), 0);
  std::vector<int64_t> mask(ids.size(), 0);
  for (size_t r = 0; r < end - begin; ++r) {
    const std::vector<int64_t>& s = sequences[begin + r];
    std::copy(s.begin(), s.end(), ids.begin() + static_cast<int64_t>(r) * width);
    std::fill_n(mask.begin() + static_cast<int64_t>(r) * width, s.size(), 1);
  }
  TokenBatch batch;
  RETURN_IF_ERROR(TorchCall("batching", [&] {
    batch.input_ids = at::tensor(ids, at::kLong).view({rows, width});
    batch.attention_mask = at::tensor(mask, at::kLong).view({rows, width});
  }));
  ASSIGN_OR_RETURN(TokenLogProbs scored, ScoreTokens(model, batch, options));
  return TorchCall("copying results", [&] {
    at::Tensor host = scored.logprobs.cpu().contiguous();
    const float* data = host.data_ptr<float>();
    for (size_t r = 0; r < end - begin; ++r) {
      const size_t n = sequences[begin + r].size() - 1;
      const float* row = data + static_cast<int64_t>(r) * (width - 1);
      result[begin + r].assign(row, row + n);
    }
  });
}

}  // namespace

absl::StatusOr<TokenLogProbs> LogProbsFromHidden(const CausalLM& model, const at::Tensor& hidden,
                                                 const TokenBatch& batch,
                                                 const ScoringOptions& options) {
  if (!model.has_lm_head()) return absl::FailedPreconditionError("the model has no LM head");
  RETURN_IF_ERROR(CheckHiddenMatchesBatch(hidden, batch));
  if (hidden.size(1) < 2) {
    return absl::InvalidArgumentError("scoring needs sequences of at least 2 tokens");
  }
  if (options.max_logit_positions <= 0) {
    return absl::InvalidArgumentError("max_logit_positions must be positive");
  }
  const internal::Transformer& impl = internal::ModelAccess::Get(model);
  return TorchCall("scoring", [&]() -> TokenLogProbs {
    const int64_t rows = hidden.size(0), steps = hidden.size(1) - 1;
    at::Tensor real = RealTokens(batch, model.device());
    at::Tensor valid = real.narrow(1, 0, steps).logical_and(real.narrow(1, 1, steps));
    at::Tensor targets = batch.input_ids.to(model.device()).to(at::kLong).narrow(1, 1, steps);
    // Only positions with a real next token go through the LM head.
    at::Tensor where = valid.reshape({-1}).nonzero().squeeze(1);
    at::Tensor states =
        hidden.narrow(1, 0, steps).reshape({rows * steps, hidden.size(2)}).index_select(0, where);
    at::Tensor wanted = targets.reshape({-1}).index_select(0, where);
    at::Tensor flat = at::zeros({rows * steps}, hidden.options().dtype(at::kFloat));
    if (where.size(0) > 0) {
      flat = flat.index_put({where},
                            GatherLogProbs(impl, states, wanted, options.max_logit_positions));
    }
    return TokenLogProbs{flat.view({rows, steps}), valid};
  });
}

absl::StatusOr<ScalarScores> ScalarFromHidden(const CausalLM& model, const at::Tensor& hidden,
                                              const TokenBatch& batch) {
  if (!model.has_scalar_head()) {
    return absl::FailedPreconditionError("the model has no scalar head");
  }
  RETURN_IF_ERROR(CheckHiddenMatchesBatch(hidden, batch));
  const internal::Transformer& impl = internal::ModelAccess::Get(model);
  return TorchCall("scalar scoring", [&]() -> ScalarScores {
    at::Tensor real = RealTokens(batch, model.device());
    at::Tensor values = impl.ScalarValues(hidden).masked_fill(real.logical_not(), 0.0);
    // Index of each row's last real token (0 for a row without any).
    at::Tensor index = at::arange(real.size(1), real.options().dtype(at::kLong))
                           .mul(real.to(at::kLong))
                           .amax(1, /*keepdim=*/true);
    return ScalarScores{values, values.gather(1, index).squeeze(1)};
  });
}

absl::StatusOr<TokenLogProbs> ScoreTokens(const CausalLM& model, const TokenBatch& batch,
                                          const ScoringOptions& options) {
  if (!model.has_lm_head()) return absl::FailedPreconditionError("the model has no LM head");
  at::NoGradGuard no_grad;
  ASSIGN_OR_RETURN(at::Tensor hidden, model.Hidden(batch));
  return LogProbsFromHidden(model, hidden, batch, options);
}

absl::StatusOr<ScalarScores> ScoreScalar(const CausalLM& model, const TokenBatch& batch) {
  if (!model.has_scalar_head()) {
    return absl::FailedPreconditionError("the model has no scalar head");
  }
  at::NoGradGuard no_grad;
  ASSIGN_OR_RETURN(at::Tensor hidden, model.Hidden(batch));
  return ScalarFromHidden(model, hidden, batch);
}

absl::StatusOr<std::vector<std::vector<float>>> ScoreSequences(
    const CausalLM& model, const std::vector<std::vector<int64_t>>& sequences,
    const ScoringOptions& options) {
  if (options.max_batch_tokens <= 0) {
    return absl::InvalidArgumentError("max_batch_tokens must be positive");
  }
  std::vector<std::vector<float>> result(sequences.size());
  size_t begin = 0;
  while (begin < sequences.size()) {
    if (options.keep_going) RETURN_IF_ERROR(options.keep_going());
    if (sequences[begin].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", begin, " is empty"));
    }
    // Grow the batch while it stays within the budget (at least one sequence).
    size_t end = begin + 1;
    size_t longest = sequences[begin].size(), total = longest;
    while (end < sequences.size() && !sequences[end].empty()) {
      const size_t longer = std::max(longest, sequences[end].size());
      const size_t tokens =
          options.pack_sequences ? total + sequences[end].size() : longer * (end - begin + 1);
      if (static_cast<int64_t>(tokens) > options.max_batch_tokens) break;
      longest = longer;
      total += sequences[end].size();
      ++end;
    }
    if (longest < 2) {  // Nothing to score in this batch.
      begin = end;
      continue;
    }
    if (options.pack_sequences) {
      // A 1-token sequence has nothing to score; the packed forward leaves it out.
      std::vector<size_t> which;
      for (size_t i = begin; i < end; ++i) {
        if (sequences[i].size() >= 2) which.push_back(i);
      }
      RETURN_IF_ERROR(ScorePacked(model, sequences, which, options, result));
    } else {
      RETURN_IF_ERROR(ScorePadded(model, sequences, begin, end, options, result));
    }
    begin = end;
  }
  return result;
}

}  // namespace rein::model
