// A reward model: a CausalLM with a scalar head whose value at a sequence's last token is the
// sequence's reward, and a fingerprint of its weights.
//
// Ownership: owns its model. Immutable once made; thread safety: Score may run concurrently.
#ifndef REIN_SERVICES_REWARD_REWARD_MODEL_H_
#define REIN_SERVICES_REWARD_REWARD_MODEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"

namespace rein::reward {

class RewardModel {
 public:
  // Takes `model`, which must have a scalar head (FAILED_PRECONDITION otherwise), and hashes its
  // weights.
  static absl::StatusOr<std::unique_ptr<RewardModel>> Create(
      std::unique_ptr<model::CausalLM> model);
  RewardModel(const RewardModel&) = delete;
  RewardModel& operator=(const RewardModel&) = delete;

  static constexpr int64_t kDefaultMaxBatchTokens = 16384;

  // The scalar head at the last token of each sequence (each non-empty), in order. Sequences are
  // right-padded into batches of at most `max_batch_tokens` padded tokens.
  // `keep_going` (when set) is asked before every batch; its error stops the scoring.
  absl::StatusOr<std::vector<float>> Score(
      const std::vector<std::vector<int64_t>>& sequences,
      int64_t max_batch_tokens = kDefaultMaxBatchTokens,
      const std::function<absl::Status()>& keep_going = {}) const;

  // XXH3-64 (hex, 16 digits) over every weight's name, dtype, shape and bytes, in name order:
  // equal for equal weights whichever folder or layout they came from.
  const std::string& fingerprint() const { return fingerprint_; }
  const model::CausalLM& model() const { return *model_; }

 private:
  RewardModel(std::unique_ptr<model::CausalLM> model, std::string fingerprint)
      : model_(std::move(model)), fingerprint_(std::move(fingerprint)) {}

  const std::unique_ptr<model::CausalLM> model_;
  const std::string fingerprint_;
};

}  // namespace rein::reward

#endif  // REIN_SERVICES_REWARD_REWARD_MODEL_H_
