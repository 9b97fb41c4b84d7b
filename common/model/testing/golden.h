// The golden outputs of the tiny checkpoints in tests/data/models (copied from
// ../shared/golden/models; see its README): a right-padded batch with its logits and next-token
// log-probs, greedy continuations, and a left-padded variant of the batch. For tests only.
#ifndef REIN_COMMON_MODEL_TESTING_GOLDEN_H_
#define REIN_COMMON_MODEL_TESTING_GOLDEN_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::model::testing {

struct Golden {
  std::string name;                           // e.g. "tiny-llama".
  std::string dir;                            // The checkpoint folder.
  at::Tensor input_ids;                       // [B, T] int64, right-padded with 0.
  at::Tensor attention_mask;                  // [B, T] int64.
  std::vector<int64_t> lengths;               // Real tokens per row.
  std::vector<at::Tensor> logits;             // Per row: [lengths[b], V] float32.
  std::vector<std::vector<double>> logprobs;  // Per row: lengths[b] - 1 values.
  std::vector<double> sum_logprob;
  std::vector<std::vector<int64_t>> prompts;  // Greedy prompts (the unpadded rows).
  std::vector<std::vector<int64_t>> greedy;   // 8 greedy tokens per prompt.
  at::Tensor left_input_ids, left_attention_mask, left_position_ids;  // [B, T].
};

// Names of every tiny checkpoint.
const std::vector<std::string>& GoldenModelNames();

absl::StatusOr<Golden> LoadGolden(const std::string& name);

// max |a - b| over all elements (float64).
double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b);

}  // namespace rein::model::testing

#endif  // REIN_COMMON_MODEL_TESTING_GOLDEN_H_
