#include "services/worker/token_sequences.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace rein::worker {
namespace {

absl::Status CheckIds(const google::protobuf::RepeatedField<int32_t>& ids, int64_t vocab_size,
                      const std::string& where, const char* field) {
  for (int t = 0; t < ids.size(); ++t) {
    if (ids[t] < 0 || ids[t] >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", field, "[", t, "] = ", ids[t],
                                                     " is outside the vocabulary [0, ",
                                                     vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSequences(const TokenSequences& sequences, const SequenceLimits& limits) {
  if (sequences.empty()) return absl::InvalidArgumentError("sequences: none given");
  if (limits.max_sequences > 0 && sequences.size() > limits.max_sequences) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "sequences: ", sequences.size(), " in one call; this replica takes at most ",
        limits.max_sequences, " (", kRequestCapacityFactor, " x its capacity)"));
  }
  for (int i = 0; i < sequences.size(); ++i) {
    const rein::v1::TokenSequence& s = sequences[i];
    const std::string where = absl::StrCat("sequences[", i, "] (sequence_id ", s.sequence_id(), ")");
    if (s.response_ids().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": response_ids is empty"));
    }
    if (limits.require_prompt && s.prompt_ids().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": prompt_ids is empty"));
    }
    if (absl::Status status = CheckIds(s.prompt_ids(), limits.vocab_size, where, "prompt_ids");
        !status.ok()) {
      return status;
    }
    if (absl::Status status =
            CheckIds(s.response_ids(), limits.vocab_size, where, "response_ids");
        !status.ok()) {
      return status;
    }
    const int64_t length = int64_t{s.prompt_ids_size()} + s.response_ids_size();
    if (limits.max_length > 0 && length > limits.max_length) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", length,
                                                     " prompt + response tokens exceed the limit of ",
                                                     limits.max_length));
    }
  }
  return absl::OkStatus();
}

std::vector<int64_t> FullSequence(const rein::v1::TokenSequence& sequence) {
  std::vector<int64_t> ids(sequence.prompt_ids().begin(), sequence.prompt_ids().end());
  ids.insert(ids.end(), sequence.response_ids().begin(), sequence.response_ids().end());
  return ids;
}

}  // namespace rein::worker
