// Argument checks for CausalLM's public methods: shapes, dtypes, id and position ranges, cache
// bounds. Each returns the arguments moved to the model's device in the form Transformer wants.
#ifndef REIN_COMMON_MODEL_INTERNAL_VALIDATE_H_
#define REIN_COMMON_MODEL_INTERNAL_VALIDATE_H_

#include <ATen/core/Tensor.h>

#include <vector>

#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"
#include "common/model/internal/transformer.h"

namespace rein::model::internal {

struct CheckedBatch {
  at::Tensor input_ids;       // [B, T] int64.
  at::Tensor position_ids;    // [B, T] int64 (defaults filled in).
  at::Tensor attention_mask;  // [B, T] or undefined.
};
absl::StatusOr<CheckedBatch> CheckTokenBatch(const Transformer& model, const TokenBatch& batch);

struct CheckedCachedBatch {
  at::Tensor input_ids;     // [B, T] int64.
  at::Tensor position_ids;  // [B, T] int64.
  CacheStep step;
};
absl::StatusOr<CheckedCachedBatch> CheckCachedBatch(const Transformer& model,
                                                    const CachedBatch& batch, KvCache& cache);

// `hidden` [..., hidden_size] in the model's dtype on its device.
absl::StatusOr<at::Tensor> CheckHidden(const Transformer& model, const at::Tensor& hidden);

// Packed sequences (CausalLM::HiddenPacked) as [1, N] ids and positions on the model's device.
struct CheckedPacked {
  at::Tensor input_ids;
  at::Tensor position_ids;
};
absl::StatusOr<CheckedPacked> CheckPacked(const Transformer& model, const at::Tensor& ids,
                                          const std::vector<int64_t>& lengths);

}  // namespace rein::model::internal

#endif  // REIN_COMMON_MODEL_INTERNAL_VALIDATE_H_
