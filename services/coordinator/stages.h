// The stages of one RLHF iteration, as the coordinator runs them over the network:
//   Generate (rollout replicas) → Score (reward) ‖ LogProbs (reference) → Train (learner ranks)
//   → PushWeights (learner rank 0 → every rollout replica).
// Each stage shards its batch across the active workers of its role (see shard_dispatcher.h),
// validates every reply against the request, and fails with a status naming the worker and
// the problem rather than passing a malformed batch on.
#ifndef REIN_SERVICES_COORDINATOR_STAGES_H_
#define REIN_SERVICES_COORDINATOR_STAGES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/data/training_examples.h"
#include "rein/v1/learner.pb.h"
#include "rein/v1/rollout.pb.h"
#include "services/coordinator/shard_dispatcher.h"
#include "services/coordinator/worker_clients.h"
#include "services/coordinator/worker_registry.h"

namespace rein::coordinator {

// A prompt as the coordinator hands it to rollout: tokenised, with its sampling seed.
struct PromptItem {
  uint64_t prompt_id = 0;
  std::vector<int32_t> token_ids;
  uint64_t seed = 0;
};

// One sampled response and everything the iteration learns about it.
struct Sample {
  uint64_t sequence_id = 0;  // prompt index * samples_per_prompt + sample index
  uint64_t prompt_id = 0;    // also the GRPO/RLOO group
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> response_ids;
  std::vector<float> behaviour_logprobs;
  std::vector<float> reference_logprobs;
  float reward = 0;
  // The cost model's score, when the reward service has one (see safety.h).
  std::optional<float> cost;
  // The reward model version the reward replica scored with (ScoreResponse).
  uint64_t reward_model_version = 0;
  uint64_t policy_version = 0;
  rein::v1::FinishReason finish_reason = rein::v1::FINISH_REASON_UNSPECIFIED;
};

// Sets the statistic `name` of `stats`.
void SetStat(rein::v1::Stats& stats, const std::string& name, double value);

// `sample`'s id, prompt and response as the wire's TokenSequence.
void FillSequence(const Sample& sample, rein::v1::TokenSequence* sequence);

// `example` as the wire's Preference; response r's sequence id is id * 1000 + r.
void FillPreference(const data::PreferenceExample& example, uint64_t id,
                    rein::v1::Preference* preference);

// What every stage needs to reach the workers.
struct StageContext {
  WorkerRegistry* registry = nullptr;
  WorkerClients* clients = nullptr;
  // Deadline of each call.
  absl::Duration call_timeout = absl::Minutes(5);
};

struct GenerateOptions {
  rein::v1::SamplingParams sampling;
  uint32_t samples_per_prompt = 1;
  uint64_t min_policy_version = 0;
  // Sample from this earlier policy folder instead (GenerateRequest.policy_dir), reported as
  // policy_dir_version.
  std::string policy_dir;
  uint64_t policy_dir_version = 0;
};

// Samples `samples_per_prompt` responses per prompt, in prompt order then sample order.
absl::StatusOr<std::vector<Sample>> GenerateStage(const StageContext& context,
                                                  const std::vector<PromptItem>& prompts,
                                                  const GenerateOptions& options,
                                                  DispatchStats* stats);

// Fills reward (reward replicas) and reference_logprobs (reference replicas), in parallel.
// A non-finite reward fails the stage: it is never trained on.
absl::Status ScoreStage(const StageContext& context, std::vector<Sample>& samples,
                        DispatchStats* reward_stats, DispatchStats* reference_stats);

// Fills reward (and cost) alone, from the reward replicas: held-out scoring in rounds.
absl::Status RewardStage(const StageContext& context, std::vector<Sample>& samples,
                         DispatchStats* stats);

// Fills reference_logprobs alone (the offline preference learners need no reward).
absl::Status ReferenceStage(const StageContext& context, std::vector<Sample>& samples,
                            DispatchStats* stats);

// Fills `request` with items[range] of whatever batch is being trained.
using FillTrainRequest = std::function<void(Range range, rein::v1::TrainRequest& request)>;

// Sends one Train call per learner rank, rank r getting the r-th contiguous slice of `items`
// items (never retried: an update must not be applied twice). Returns rank 0's reply, whose
// stats are global across ranks.
absl::StatusOr<rein::v1::TrainResponse> TrainOnRanks(const StageContext& context,
                                                     uint64_t iteration, size_t items,
                                                     const rein::v1::HyperParameters& overrides,
                                                     const FillTrainRequest& fill);

// Trains every learner rank on its contiguous slice of `samples` (never retried: an update must
// not be applied twice). Returns rank 0's reply, whose stats are global across ranks.
absl::StatusOr<rein::v1::TrainResponse> TrainStage(const StageContext& context,
                                                   uint64_t iteration,
                                                   const std::vector<Sample>& samples,
                                                   const rein::v1::HyperParameters& overrides);

// Asks learner rank 0 to write its state into `directory` (atomically). `every_rank`
// (learner.zero_stage 1: the optimizer state is sharded) asks every rank at once, as saving is
// then a collective that gathers the state to rank 0; rank 0's answer is returned.
absl::StatusOr<rein::v1::SaveCheckpointResponse> SaveCheckpointStage(const StageContext& context,
                                                                      const std::string& directory,
                                                                      bool every_rank = false);

// Asks learner rank 0 to push its weights to every active rollout replica.
absl::StatusOr<rein::v1::PushWeightsResponse> PushWeightsStage(const StageContext& context);

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_STAGES_H_
