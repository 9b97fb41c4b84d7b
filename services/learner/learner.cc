#include "services/learner/learner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <ATen/ops/from_blob.h>

#include "absl/strings/str_cat.h"
#include "common/config/enum_names.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/learner/checkpoint_io.h"
#include "services/learner/offline_preference_step.h"
#include "services/learner/reward_model_step.h"
#include "services/learner/rl_step.h"
#include "services/learner/sft_step.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {
namespace {

absl::string_view BatchName(rein::v1::TrainRequest::BatchCase kind) {
  switch (kind) {
    case rein::v1::TrainRequest::kExperiences: return "experiences";
    case rein::v1::TrainRequest::kSft: return "sft";
    case rein::v1::TrainRequest::kPreferences: return "preferences";
    case rein::v1::TrainRequest::kOfflinePreferences: return "offline_preferences";
    case rein::v1::TrainRequest::BATCH_NOT_SET: break;
  }
  return "no batch";
}

rein::v1::TrainRequest::BatchCase BatchFor(config::LearnerMode mode) {
  switch (mode) {
    case config::LearnerMode::kSft: return rein::v1::TrainRequest::kSft;
    case config::LearnerMode::kRewardModel:
    case config::LearnerMode::kCostModel: return rein::v1::TrainRequest::kPreferences;
    case config::LearnerMode::kDpo:
    case config::LearnerMode::kIpo:
    case config::LearnerMode::kKto: return rein::v1::TrainRequest::kOfflinePreferences;
    default: return rein::v1::TrainRequest::kExperiences;
  }
}

absl::Status CheckOverride(double value, absl::string_view name) {
  if (!std::isfinite(value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("overrides.", name, ": ", value, " is not a finite number >= 0"));
  }
  return absl::OkStatus();
}

int BatchItems(const rein::v1::TrainRequest& request) {
  switch (request.batch_case()) {
    case rein::v1::TrainRequest::kExperiences: return request.experiences().experiences_size();
    case rein::v1::TrainRequest::kSft: return request.sft().examples_size();
    case rein::v1::TrainRequest::kPreferences: return request.preferences().preferences_size();
    case rein::v1::TrainRequest::kOfflinePreferences:
      return request.offline_preferences().examples_size();
    case rein::v1::TrainRequest::BATCH_NOT_SET: break;
  }
  return 0;
}

// One all-reduce (max) of [refused, items, -items, iteration, -iteration]: every rank learns
// whether any rank refused its slice, whether the slices are of equal size (equal step counts)
// and whether all ranks train the same iteration.
absl::Status AgreeOnBatch(LearnerState& s, const rein::v1::TrainRequest& request,
                          const absl::Status& refused) {
  const double items = BatchItems(request);
  const double iteration = static_cast<double>(request.iteration());
  std::vector<double> flags = {refused.ok() ? 0.0 : 1.0, items, -items, iteration, -iteration};
  at::Tensor view = at::from_blob(flags.data(), {static_cast<int64_t>(flags.size())},
                                  at::TensorOptions().dtype(at::kDouble));
  RETURN_IF_ERROR(s.comm()->AllReduce(view, dist::ReduceOp::kMax));
  if (flags[0] > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "rank ", s.rank(), ": another learner rank refused its slice of iteration ",
        request.iteration(), "; no rank trained"));
  }
  if (flags[1] != -flags[2]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rank ", s.rank(), ": learner ranks hold between ", -flags[2], " and ", flags[1],
        " items of iteration ", request.iteration(),
        "; data-parallel ranks need equal slices (the batch must split evenly)"));
  }
  if (flags[3] != -flags[4]) {
    return absl::FailedPreconditionError(absl::StrCat(
        "rank ", s.rank(), ": learner ranks were sent different iterations (", -flags[4], " to ",
        flags[3], ")"));
  }
  return absl::OkStatus();
}

}  // namespace

Learner::Learner(std::unique_ptr<LearnerState> state, prometheus::Registry& registry)
    : state_(std::move(state)), metrics_(registry) {}

absl::StatusOr<std::unique_ptr<Learner>> Learner::Create(std::unique_ptr<LearnerState> state,
                                                         prometheus::Registry& registry) {
  if (state == nullptr) return absl::InvalidArgumentError("Learner::Create: no state");
  std::unique_ptr<Learner> learner(new Learner(std::move(state), registry));
  absl::MutexLock lock(&learner->mu_);
  learner->metrics_.policy_version.Set(
      static_cast<double>(learner->state_->progress().policy_version));
  learner->metrics_.optimizer_state_bytes.Set(
      static_cast<double>(learner->state_->OptimizerStateBytes()));
  return learner;
}

absl::Status Learner::Validate(const rein::v1::TrainRequest& request) const {
  const LearnerState& s = *state_;
  if (request.batch_case() != BatchFor(s.mode())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "learner mode ", config::EnumName(s.mode()), " trains on ",
        BatchName(BatchFor(s.mode())), " batches; the request holds ",
        BatchName(request.batch_case())));
  }
  if (request.overrides().has_kl_coef()) {
    RETURN_IF_ERROR(CheckOverride(request.overrides().kl_coef(), "kl_coef"));
  }
  if (request.overrides().has_learning_rate()) {
    RETURN_IF_ERROR(CheckOverride(request.overrides().learning_rate(), "learning_rate"));
  }
  const SequenceLimits limits{.vocab_size = s.policy().config().vocab_size,
                              .max_positions = s.policy().config().max_position_embeddings};
  switch (request.batch_case()) {
    case rein::v1::TrainRequest::kSft: return ValidateSftBatch(request.sft(), limits);
    case rein::v1::TrainRequest::kPreferences:
      return ValidatePreferenceBatch(request.preferences(), limits);
    case rein::v1::TrainRequest::kOfflinePreferences:
      return ValidateOfflinePreferenceBatch(s.mode(), request.offline_preferences(), limits);
    case rein::v1::TrainRequest::kExperiences:
      return ValidateExperienceBatch(s.mode(), request.experiences(), limits);
    case rein::v1::TrainRequest::BATCH_NOT_SET: break;
  }
  return absl::InvalidArgumentError("no batch");
}

absl::StatusOr<rein::v1::TrainResponse> Learner::Train(
    const rein::v1::TrainRequest& request, const std::function<absl::Status()>& keep_going) {
  absl::MutexLock lock(&mu_);
  LearnerState& s = *state_;
  LearnerProgress& progress = s.progress();
  absl::Status refused;
  // Iterations move forward by one per Train (a round's model learners skip a round's steps at
  // most); a jump past this would leave no room to train on (2^64 - 1) and is a bad client.
  constexpr uint64_t kMaxIterationJump = 1'000'000;
  if (request.iteration() <= progress.last_iteration) {
    refused = absl::FailedPreconditionError(
        absl::StrCat("iteration ", request.iteration(), " is not after the last trained one (",
                     progress.last_iteration, "); Train is not idempotent"));
  } else if (request.iteration() - progress.last_iteration > kMaxIterationJump) {
    refused = absl::InvalidArgumentError(absl::StrCat(
        "iteration ", request.iteration(), " jumps more than ", kMaxIterationJump,
        " past the last trained one (", progress.last_iteration, ")"));
  } else {
    refused = Validate(request);
  }
  // A Train queued behind another whose caller gave up meanwhile is not run.
  if (refused.ok() && keep_going) refused = keep_going();
  if (s.world_size() > 1) {
    // All ranks take the batch or none does: a rank that trained alone would wait for the
    // others' gradients until the collective timeout.
    absl::Status agreed = AgreeOnBatch(s, request, refused);
    if (refused.ok()) refused = agreed;
  }
  if (!refused.ok()) {
    metrics_.train_rejected.Increment();
    return refused;
  }
  if (request.overrides().has_kl_coef()) progress.kl_coef = request.overrides().kl_coef();
  if (request.overrides().has_learning_rate() &&
      request.overrides().learning_rate() != progress.peak_learning_rate) {
    RETURN_IF_ERROR(s.SetPeakLearningRate(request.overrides().learning_rate()));
  }

  const auto started = std::chrono::steady_clock::now();
  const int64_t steps_before = progress.optimizer_steps;
  absl::StatusOr<StepOutcome> outcome = GuardTorch("train", [&]() -> absl::StatusOr<StepOutcome> {
    switch (request.batch_case()) {
      case rein::v1::TrainRequest::kSft: return SftStep(s, request.sft());
      case rein::v1::TrainRequest::kPreferences:
        return RewardModelStep(s, request.preferences());
      case rein::v1::TrainRequest::kOfflinePreferences:
        return OfflinePreferenceStep(s, request.offline_preferences());
      default:
        return RlStep(s, request.experiences(),
                      s.world_size() > 1 ? std::function<absl::Status()>() : keep_going);
    }
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int64_t steps = progress.optimizer_steps - steps_before;
  if (steps > 0) {
    // The weights changed: this is a new policy version, even if the step failed later on.
    ++progress.policy_version;
    progress.last_iteration = request.iteration();
    metrics_.optimizer_steps.Increment(static_cast<double>(steps));
    metrics_.policy_version.Set(static_cast<double>(progress.policy_version));
    // AdamW creates a parameter's state at its first step.
    metrics_.optimizer_state_bytes.Set(static_cast<double>(s.OptimizerStateBytes()));
  }
  if (!outcome.ok()) {
    // The caller may be seen gone only once the step began (its deadline, as the server
    // reckons it, can end a moment after the caller's): stopped before any optimizer step,
    // the Train changed nothing and is a refusal like the one above.
    const absl::StatusCode code = outcome.status().code();
    if (steps == 0 && (code == absl::StatusCode::kDeadlineExceeded ||
                       code == absl::StatusCode::kCancelled)) {
      metrics_.train_rejected.Increment();
    }
    REIN_LOG(ERROR, "learner") << "Train of iteration " << request.iteration()
                               << " failed after " << steps
                               << " optimizer steps: " << outcome.status();
    return outcome.status();
  }

  rein::v1::TrainResponse response;
  response.set_policy_version(progress.policy_version);
  auto& stats = *response.mutable_stats()->mutable_values();
  for (const auto& [name, value] : outcome->stats) stats[name] = value;
  stats[kStatTrainSeconds] = seconds;
  stats[kStatTokensPerSecond] =
      seconds > 0 ? static_cast<double>(outcome->tokens) / seconds : 0.0;
  if (request.batch_case() == rein::v1::TrainRequest::kExperiences) {
    uint64_t oldest = std::numeric_limits<uint64_t>::max();
    for (const rein::v1::Experience& e : request.experiences().experiences()) {
      oldest = std::min(oldest, e.policy_version());
    }
    // Versions between the oldest sample's policy and the one this Train produced, exclusive.
    const uint64_t lag = progress.policy_version > oldest + 1
                             ? progress.policy_version - oldest - 1 : 0;
    stats["policy/lag_max"] = static_cast<double>(lag);
    metrics_.last_kl.Set(outcome->kl);
    metrics_.last_reward.Set(outcome->reward);
    metrics_.SetDiagnostics(outcome->stats);
  }
  metrics_.train_seconds.Observe(seconds);
  metrics_.train_steps.Increment();
  metrics_.train_tokens.Increment(static_cast<double>(outcome->tokens));
  metrics_.last_loss.Set(outcome->loss);
  REIN_LOG(INFO, "learner") << "iteration " << request.iteration() << " -> policy version "
                            << progress.policy_version << " (" << steps
                            << " optimizer steps, loss " << outcome->loss << ", " << seconds
                            << " s)";
  return response;
}

absl::StatusOr<std::shared_ptr<const Learner::WeightsSnapshot>> Learner::SnapshotWeights() {
  absl::MutexLock snapshot_lock(&snapshot_mu_);
  absl::ReaderMutexLock lock(&mu_);
  std::shared_ptr<const WeightsSnapshot> shared = snapshot_.lock();
  if (shared != nullptr && shared->version == state_->progress().policy_version) return shared;
  auto copy = std::make_shared<WeightsSnapshot>();
  copy->version = state_->progress().policy_version;
  RETURN_IF_ERROR(GuardTorch("copying the weights", [&]() -> absl::Status {
    // Only the adapters of a LoRA policy: rollouts hold the same frozen base.
    for (auto& [name, weight] : state_->policy().NamedTrainableParameters()) {
      copy->tensors.emplace_back(name, weight.detach().to(at::kCPU, /*non_blocking=*/false,
                                                          /*copy=*/true));
    }
    return absl::OkStatus();
  }));
  snapshot_ = copy;
  return std::shared_ptr<const WeightsSnapshot>(std::move(copy));
}

absl::Status Learner::WithWeights(WeightsFn fn) {
  ASSIGN_OR_RETURN(std::shared_ptr<const WeightsSnapshot> weights, SnapshotWeights());
  return fn(weights->version, weights->tensors);
}

absl::StatusOr<uint64_t> Learner::SaveCheckpoint(const std::string& directory) {
  // Exclusive: saving reads the optimisers through their (non-const) LibTorch accessors.
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(SaveLearnerCheckpoint(*state_, directory));
  return static_cast<uint64_t>(state_->progress().optimizer_steps);
}

absl::StatusOr<Learner::Restored> Learner::Restore(const std::string& directory) {
  absl::MutexLock lock(&mu_);
  if (state_->options().learner.ranks > 1) {
    return absl::FailedPreconditionError(
        "Restore is for single-rank learners; restart data-parallel ranks with --resume");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LearnerState> restored,
                   LoadLearnerCheckpoint(directory, state_->options()));
  state_ = std::move(restored);
  metrics_.optimizer_state_bytes.Set(static_cast<double>(state_->OptimizerStateBytes()));
  return Restored{static_cast<uint64_t>(state_->progress().optimizer_steps),
                  state_->progress().policy_version};
}

uint64_t Learner::policy_version() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_->progress().policy_version;
}

void Learner::InspectState(absl::FunctionRef<void(LearnerState&)> fn) {
  absl::MutexLock lock(&mu_);
  fn(*state_);
}

}  // namespace rein::learner
