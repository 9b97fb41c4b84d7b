#include "services/reward/reward_model.h"

#include <ATen/ops/tensor.h>
#include <xxhash.h>

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/model/scoring.h"
#include "common/status/status_macros.h"

namespace rein::reward {
namespace {

absl::StatusOr<std::string> Fingerprint(const model::CausalLM& model) {
  std::map<std::string, at::Tensor> sorted;
  for (auto& [name, tensor] : model.NamedParameters()) sorted.emplace(name, tensor);
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) return absl::ResourceExhaustedError("fingerprint: no memory");
  XXH3_64bits_reset(state);
  try {
    for (const auto& [name, tensor] : sorted) {
      XXH3_64bits_update(state, name.data(), name.size() + 1);  // With the NUL as separator.
      const std::string meta = absl::StrCat(c10::toString(tensor.scalar_type()), "[",
                                            tensor.sizes().size(), "]");
      XXH3_64bits_update(state, meta.data(), meta.size());
      XXH3_64bits_update(state, tensor.sizes().data(), tensor.sizes().size() * sizeof(int64_t));
      const at::Tensor host = tensor.to(at::kCPU).contiguous();
      XXH3_64bits_update(state, host.data_ptr(), host.nbytes());
    }
  } catch (const std::exception& e) {
    XXH3_freeState(state);
    return absl::InternalError(absl::StrCat("fingerprint of the reward model: ", e.what()));
  }
  const uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RewardModel>> RewardModel::Create(
    std::unique_ptr<model::CausalLM> model) {
  if (model == nullptr || !model->has_scalar_head()) {
    return absl::FailedPreconditionError("the reward model has no scalar head (score.weight)");
  }
  ASSIGN_OR_RETURN(std::string fingerprint, Fingerprint(*model));
  return std::unique_ptr<RewardModel>(new RewardModel(std::move(model), std::move(fingerprint)));
}

absl::StatusOr<std::vector<float>> RewardModel::Score(
    const std::vector<std::vector<int64_t>>& sequences, int64_t max_batch_tokens,
    const std::function<absl::Status()>& keep_going) const {
  std::vector<float> scores;
  scores.reserve(sequences.size());
  size_t begin = 0;
  while (begin < sequences.size()) {
    if (keep_going) RETURN_IF_ERROR(keep_going());
    // Grow the batch while rows x longest row stays within max_batch_tokens (at least one row).
    size_t end = begin;
    int64_t width = 0;
    while (end < sequences.size()) {
      const int64_t next_width =
          std::max(width, static_cast<int64_t>(sequences[end].size()));
      if (end > begin && next_width * static_cast<int64_t>(end - begin + 1) > max_batch_tokens) {
        break;
      }
      width = next_width;
      ++end;
    }
    const int64_t rows = static_cast<int64_t>(end - begin);
    std::vector<int64_t> ids(static_cast<size_t>(rows * width), 0);
    std::vector<int64_t> mask(ids.size(), 0);
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<int64_t>& row = sequences[begin + static_cast<size_t>(r)];
      std::copy(row.begin(), row.end(), ids.begin() + r * width);
      std::fill_n(mask.begin() + r * width, row.size(), 1);
    }
    model::TokenBatch batch;
    try {
      batch.input_ids = at::tensor(ids, at::kLong).view({rows, width}).to(model_->device());
      batch.attention_mask = at::tensor(mask, at::kLong).view({rows, width}).to(model_->device());
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("reward model input: ", e.what()));
    }
    ASSIGN_OR_RETURN(model::ScalarScores batch_scores, model::ScoreScalar(*model_, batch));
    try {
      const at::Tensor values = batch_scores.per_sequence.to(at::kCPU).to(at::kFloat).contiguous();
      const float* data = values.data_ptr<float>();
      scores.insert(scores.end(), data, data + rows);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("reward model output: ", e.what()));
    }
    begin = end;
  }
  return scores;
}

}  // namespace rein::reward
