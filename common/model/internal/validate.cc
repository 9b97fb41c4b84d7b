#include "common/model/internal/validate.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/tensor.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/model/internal/errors.h"
#include "common/status/status_macros.h"

namespace rein::model::internal {
namespace {

std::string Shape(const at::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes().vec(), ", "), "]");
}

absl::Status CheckIntegerMatrix(const at::Tensor& t, const char* name) {
  if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat(name, " is required"));
  if (t.dim() != 2 || t.size(0) == 0 || t.size(1) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be a non-empty [batch, tokens] matrix, got shape ", Shape(t)));
  }
  if (!c10::isIntegralType(t.scalar_type(), /*includeBool=*/false)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must hold integers, got ", c10::toString(t.scalar_type())));
  }
  return absl::OkStatus();
}

absl::Status CheckSameShape(const at::Tensor& t, const at::Tensor& ids, const char* name) {
  if (t.sizes() != ids.sizes()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " has shape ", Shape(t), " but input_ids has ", Shape(ids)));
  }
  return absl::OkStatus();
}

// Ids in [0, vocab_size) and positions in [0, limit) (GPT-2's table) or >= 0.
absl::Status CheckRanges(const ModelConfig& c, const at::Tensor& ids, const at::Tensor& pos) {
  const int64_t min_id = ids.min().item<int64_t>(), max_id = ids.max().item<int64_t>();
  if (min_id < 0 || max_id >= c.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("token id ", min_id < 0 ? min_id : max_id,
                                                   " is outside [0, ", c.vocab_size,
                                                   ") (vocab_size in config.json)"));
  }
  const int64_t min_pos = pos.min().item<int64_t>(), max_pos = pos.max().item<int64_t>();
  if (min_pos < 0) {
    return absl::InvalidArgumentError(absl::StrCat("position id ", min_pos, " is negative"));
  }
  if (c.family == Family::kGpt2 && max_pos >= c.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat(
        "position ", max_pos, " is beyond GPT-2's n_positions ", c.max_position_embeddings));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CheckedBatch> CheckTokenBatch(const Transformer& model, const TokenBatch& batch) {
  RETURN_IF_ERROR(CheckIntegerMatrix(batch.input_ids, "input_ids"));
  if (batch.attention_mask.defined()) {
    RETURN_IF_ERROR(CheckSameShape(batch.attention_mask, batch.input_ids, "attention_mask"));
  }
  if (batch.position_ids.defined()) {
    RETURN_IF_ERROR(CheckIntegerMatrix(batch.position_ids, "position_ids"));
    RETURN_IF_ERROR(CheckSameShape(batch.position_ids, batch.input_ids, "position_ids"));
  }
  return TorchCall("checking batch", [&]() -> absl::StatusOr<CheckedBatch> {
    CheckedBatch out;
    const at::TensorOptions options = at::TensorOptions().dtype(at::kLong).device(model.device());
    out.input_ids = batch.input_ids.to(options);
    if (batch.attention_mask.defined()) {
      out.attention_mask = batch.attention_mask.to(model.device());
    }
    if (batch.position_ids.defined()) {
      out.position_ids = batch.position_ids.to(options);
    } else if (out.attention_mask.defined()) {
      at::Tensor real = out.attention_mask.ne(0);
      out.position_ids = real.to(at::kLong).cumsum(-1).sub(1).masked_fill(real.logical_not(), 1);
    } else {
      out.position_ids =
          at::arange(out.input_ids.size(1), options).expand(out.input_ids.sizes()).contiguous();
    }
    RETURN_IF_ERROR(CheckRanges(model.config(), out.input_ids, out.position_ids));
    return out;
  });
}

absl::StatusOr<CheckedPacked> CheckPacked(const Transformer& model, const at::Tensor& ids,
                                          const std::vector<int64_t>& lengths) {
  if (!ids.defined() || ids.dim() != 1 || ids.size(0) == 0 ||
      !c10::isIntegralType(ids.scalar_type(), /*includeBool=*/false)) {
    return absl::InvalidArgumentError(
        "packed input_ids must be a non-empty [tokens] integer vector");
  }
  int64_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("packed sequence ", i, " has length ", lengths[i], "; at least 1"));
    }
    total += lengths[i];
  }
  if (total != ids.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat("packed lengths sum to ", total, " but ",
                                                   ids.size(0), " input_ids were given"));
  }
  return TorchCall("checking packed batch", [&]() -> absl::StatusOr<CheckedPacked> {
    const at::TensorOptions options = at::TensorOptions().dtype(at::kLong).device(model.device());
    std::vector<int64_t> positions;
    positions.reserve(static_cast<size_t>(total));
    for (int64_t length : lengths) {
      for (int64_t t = 0; t < length; ++t) positions.push_back(t);
    }
    CheckedPacked out;
    out.input_ids = ids.to(options).view({1, total});
    out.position_ids = at::tensor(positions, at::kLong).to(options).view({1, total});
    RETURN_IF_ERROR(CheckRanges(model.config(), out.input_ids, out.position_ids));
    return out;
  });
}

absl::StatusOr<CheckedCachedBatch> CheckCachedBatch(const Transformer& model,
                                                    const CachedBatch& batch, KvCache& cache) {
  RETURN_IF_ERROR(CheckIntegerMatrix(batch.input_ids, "input_ids"));
  RETURN_IF_ERROR(CheckIntegerMatrix(batch.position_ids, "position_ids"));
  RETURN_IF_ERROR(CheckSameShape(batch.position_ids, batch.input_ids, "position_ids"));
  const int64_t rows = batch.input_ids.size(0), tokens = batch.input_ids.size(1);
  const at::Tensor& lengths = batch.cache_lengths;
  if (!lengths.defined() || lengths.dim() != 1 || lengths.size(0) != rows ||
      !c10::isIntegralType(lengths.scalar_type(), false)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache_lengths must be [", rows, "] integers (one per row)"));
  }
  if (batch.first_slot < 0 || batch.first_slot + rows > cache.slots()) {
    return absl::InvalidArgumentError(absl::StrCat("slots ", batch.first_slot, "..",
                                                   batch.first_slot + rows - 1,
                                                   " are outside the cache's ", cache.slots()));
  }
  return TorchCall("checking cached batch", [&]() -> absl::StatusOr<CheckedCachedBatch> {
    const at::TensorOptions options = at::TensorOptions().dtype(at::kLong).device(model.device());
    CheckedCachedBatch out;
    out.input_ids = batch.input_ids.to(options);
    out.position_ids = batch.position_ids.to(options);
    RETURN_IF_ERROR(CheckRanges(model.config(), out.input_ids, out.position_ids));
    const int64_t min_length = lengths.min().item<int64_t>();
    const int64_t max_length = lengths.max().item<int64_t>();
    if (min_length < 0 || max_length + tokens > cache.capacity()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cache_lengths in [", min_length, ", ", max_length, "] plus ", tokens,
                       " new tokens do not fit the cache's capacity of ", cache.capacity()));
    }
    out.step.cache = &cache;
    out.step.cache_lengths = lengths.to(options);
    out.step.first_slot = batch.first_slot;
    out.step.max_cache_length = max_length;
    return out;
  });
}

absl::StatusOr<at::Tensor> CheckHidden(const Transformer& model, const at::Tensor& hidden) {
  if (!hidden.defined() || hidden.dim() < 1 || hidden.size(-1) != model.config().hidden_size) {
    return absl::InvalidArgumentError(absl::StrCat("hidden states must be [..., ",
                                                   model.config().hidden_size, "], got ",
                                                   hidden.defined() ? Shape(hidden) : "none"));
  }
  return TorchCall("checking hidden states", [&] {
    return hidden.to(hidden.options().dtype(model.dtype()).device(model.device()));
  });
}

}  // namespace rein::model::internal
