// Token sequences (prompt + response) right-padded into one teacher-forcing batch, with the
// positions of response tokens marked, and the checks every sequence passes before it gets there.
//
// Alignment: a causal LM's output at position t predicts token t+1, so per-token quantities of
// a batch (log-probs, values, KL, advantages) are [B, T-1] and response token j of a row with a
// P-token prompt sits at column P + j - 1. response_mask marks those columns.
#ifndef REIN_SERVICES_LEARNER_PACKED_BATCH_H_
#define REIN_SERVICES_LEARNER_PACKED_BATCH_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/model/causal_lm.h"
#include "rein/v1/common.pb.h"

namespace rein::learner {

struct PackedBatch {
  at::Tensor input_ids;       // [B, T] int64, padding id 0
  at::Tensor attention_mask;  // [B, T] int64, 1 = real token
  at::Tensor response_mask;   // [B, T-1] float32, 1 where the column predicts a response token
  at::Tensor last_index;      // [B] int64, position of each row's last real token
  std::vector<int64_t> lengths;         // real tokens per row
  std::vector<int64_t> prompt_lengths;  // prompt tokens per row
  // Forward passes over this batch put its rows end to end (model.sequence_packing; see
  // model_forward.h); the per-token results keep the padded [B, T-1] layout either way.
  bool pack = false;

  int64_t rows() const { return static_cast<int64_t>(lengths.size()); }
  int64_t width() const { return input_ids.size(1); }  // T
  int64_t Tokens() const;                              // Σ lengths
  int64_t ResponseTokens() const;                      // Σ (lengths - prompt_lengths)
  model::TokenBatch AsTokenBatch() const {
    return {.input_ids = input_ids, .attention_mask = attention_mask};
  }
};

// What a model can take.
struct SequenceLimits {
  int64_t vocab_size = 0;
  int64_t max_positions = 0;  // 0 = unlimited
};

using TokenIds = google::protobuf::RepeatedField<int32_t>;

// INVALID_ARGUMENT starting with `what` (e.g. "experiences[3] (sequence_id 7)") when the
// prompt or the response is empty (the first response token needs a token to condition on), an
// id is outside [0, vocab_size), or prompt + response exceed max_positions.
absl::Status CheckTokens(const TokenIds& prompt, const TokenIds& response,
                         const SequenceLimits& limits, absl::string_view what);
inline absl::Status CheckSequence(const rein::v1::TokenSequence& sequence,
                                  const SequenceLimits& limits, absl::string_view what) {
  return CheckTokens(sequence.prompt_ids(), sequence.response_ids(), limits, what);
}

// Small host vectors as tensors on `device`.
at::Tensor LongTensor(const std::vector<int64_t>& values, c10::Device device);
at::Tensor FloatTensor(const std::vector<float>& values, c10::Device device);

// Packs `sequences` (checked already) into one batch on `device`. `response_override`, when
// non-empty, gives per row the response to use instead of sequence.response_ids (preference
// lists pair one prompt with several responses).
absl::StatusOr<PackedBatch> PackSequences(
    const std::vector<const TokenIds*>& prompts,
    const std::vector<const TokenIds*>& responses,
    c10::Device device);

// Rows `rows` of `batch`, trimmed to the longest of them.
absl::StatusOr<PackedBatch> SelectRows(const PackedBatch& batch, const std::vector<int64_t>& rows);

// Rows `rows` of a per-token tensor [B, T-1] of `batch`, trimmed to `selected`'s width.
at::Tensor SelectTokenRows(const at::Tensor& per_token, const std::vector<int64_t>& rows,
                           const PackedBatch& selected);

// Per-response-token values (values[b] holds one per response token of row b) placed at their
// response_mask columns: [B, T-1] float32 on the batch's device, 0 elsewhere.
absl::StatusOr<at::Tensor> ScatterResponseValues(
    const PackedBatch& batch, const std::vector<const google::protobuf::RepeatedField<float>*>& values);

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_PACKED_BATCH_H_
