// Unchecked masked kernels behind masked.h, for use inside common/rl after arguments have been
// validated. `keep` is always a bool mask of x's shape and device (internal::MaskBool).
#ifndef REIN_COMMON_RL_INTERNAL_MASKED_OPS_H_
#define REIN_COMMON_RL_INTERNAL_MASKED_OPS_H_

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "common/rl/masked.h"

namespace rein::rl::internal {

// x with entries where keep is false set to 0 (NaN there is replaced too).
at::Tensor Zeroed(const at::Tensor& x, const at::Tensor& keep);

// Σ x over kept entries, 0-dim.
at::Tensor KeptSum(const at::Tensor& x, const at::Tensor& keep);

// Number of kept entries, as a double.
double KeptCount(const at::Tensor& keep);

// Mean over kept entries, 0-dim; the caller guarantees at least one is kept.
at::Tensor KeptMean(const at::Tensor& x, const at::Tensor& keep);

// Population variance over kept entries, 0-dim; at least one kept.
at::Tensor KeptVariance(const at::Tensor& x, const at::Tensor& keep);

// MaskedWhiten without validation; at least one kept.
at::Tensor KeptWhiten(const at::Tensor& x, const at::Tensor& keep, const WhitenOptions& options);

// Aggregate without validation of shapes (errors only for N = 0).
absl::StatusOr<at::Tensor> KeptAggregate(const at::Tensor& loss, const at::Tensor& keep,
                                         Aggregation aggregation, double normalizer);

// Broadcasts per-sequence values v [B] to tokens: out[b,t] = v[b] where kept, 0 elsewhere.
at::Tensor BroadcastToTokens(const at::Tensor& v, const at::Tensor& keep);

// For each row of keep [B, T], the index of its last kept position; -1 for an empty row. [B]
// int64.
at::Tensor LastKeptIndex(const at::Tensor& keep);

}  // namespace rein::rl::internal

#endif  // REIN_COMMON_RL_INTERNAL_MASKED_OPS_H_
