// Checks on the TokenSequences that the reward and reference services score, and their
// conversion into model input.
//
// Thread safety: stateless functions.
#ifndef REIN_SERVICES_WORKER_TOKEN_SEQUENCES_H_
#define REIN_SERVICES_WORKER_TOKEN_SEQUENCES_H_

#include <cstdint>
#include <vector>

#include <google/protobuf/repeated_field.h>

#include "absl/status/status.h"
#include "rein/v1/common.pb.h"

namespace rein::worker {

struct SequenceLimits {
  // Every id must lie in [0, vocab_size). Required (> 0).
  int64_t vocab_size = 0;
  // Most prompt + response tokens; 0 = unlimited. Default: 0.
  int64_t max_length = 0;
  // The prompt must hold at least one token (teacher-forced log-probs of the first response
  // token need one). Default: false.
  bool require_prompt = false;
  // Most sequences in one call, checked before anything else; 0 = unlimited. Default: 0.
  int64_t max_sequences = 0;
};

// Workers take at most this many times their capacity per call: the coordinator never sends
// more than the capacity, so a larger request is a client that would make the replica allocate
// without bound.
inline constexpr int64_t kRequestCapacityFactor = 4;

using TokenSequences = google::protobuf::RepeatedPtrField<rein::v1::TokenSequence>;

// RESOURCE_EXHAUSTED for more than max_sequences sequences; INVALID_ARGUMENT naming the field
// and the sequence (index and sequence_id) for: no sequences, an empty response, an empty
// prompt where required, an id outside the vocabulary, or a sequence longer than max_length.
absl::Status ValidateSequences(const TokenSequences& sequences, const SequenceLimits& limits);

// prompt_ids followed by response_ids.
std::vector<int64_t> FullSequence(const rein::v1::TokenSequence& sequence);

}  // namespace rein::worker

#endif  // REIN_SERVICES_WORKER_TOKEN_SEQUENCES_H_
