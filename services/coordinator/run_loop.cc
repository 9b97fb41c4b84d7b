#include "services/coordinator/run_loop.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/files/confined_path.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace rein::coordinator {
namespace {

// The configured controller; options were validated with the config, so failure here means a
// programming error: fall back to a fixed β rather than abort the run.
rl::KlController MakeKlController(rl::KlControllerOptions options,
                                  const std::optional<CoordinatorState>& resumed_from) {
  if (resumed_from) options.init_coef = resumed_from->kl_coef;
  absl::StatusOr<rl::KlController> controller = rl::KlController::Create(options);
  if (controller.ok()) return *controller;
  REIN_LOG(ERROR, "coordinator") << "KL controller: " << controller.status() << "; using fixed";
  return *rl::KlController::Create({});
}

}  // namespace

RunLoop::RunLoop(const RunLoopOptions& options, StageContext stages, RunData data, RunState& run,
                 prometheus::Registry& metrics,
                 const std::optional<CoordinatorState>& resumed_from)
    : options_(options),
      stages_(stages),
      data_(data),
      run_(run),
      metrics_(metrics),
      kl_controller_(MakeKlController(options.kl, resumed_from)),
      cost_shaper_(CostShaper::Create(options.safety, resumed_from ? resumed_from->safety_lambda
                                                                   : std::nullopt)) {
  if (resumed_from) {
    policy_version_ = resumed_from->policy_version;
    completed_iteration_ = checkpointed_iteration_ = resumed_from->iteration;
    untrained_cursor_ = resumed_from->dataset_cursor;
    if (data_.prompts) data_.prompts->Seek(untrained_cursor_);
    if (data_.sft) data_.sft->Seek(untrained_cursor_);
    if (data_.preferences) data_.preferences->Seek(untrained_cursor_);
  }
  metrics_.kl_coef.Set(kl_controller_.coef());
  metrics_.policy_version.Set(static_cast<double>(policy_version_));
}

RunLoop::~RunLoop() { DiscardPrefetch(); }

absl::Status RunLoop::Run() {
  for (const auto& [role, count] : options_.expected_workers) {
    if (count == 0) continue;
    absl::Status arrived = stages_.registry->WaitFor(role, count, options_.worker_wait);
    if (!arrived.ok()) {
      run_.Finish(arrived);
      return arrived;
    }
  }
  if (!options_.run_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options_.run_dir, error);
    if (error) {
      absl::Status status = absl::InternalError(absl::StrCat(
          "cannot create the run folder '", options_.run_dir, "': ", error.message()));
      run_.Finish(status);
      return status;
    }
  }
  run_.MarkRunning();
  REIN_LOG(INFO, "coordinator") << "all workers registered; starting at iteration "
                                << run_.next_iteration();
  absl::Status status = RunSteps();
  DiscardPrefetch();
  // The final checkpoint, also after a stop: the work done so far is kept.
  if (status.ok() && !options_.run_dir.empty() && completed_iteration_ > checkpointed_iteration_) {
    status = Checkpoint("").status();
  }
  if (!status.ok()) {
    REIN_LOG(ERROR, "coordinator") << "run failed: " << status;
  }
  run_.Finish(status);
  if (!options_.run_dir.empty()) {
    absl::Status written = WriteFinalStatus(options_.run_dir, run_.Snapshot());
    if (!written.ok()) {
      REIN_LOG(WARNING, "coordinator") << "final status not written: " << written;
    }
  }
  return status;
}

absl::Status RunLoop::RunSteps() {
  RETURN_IF_ERROR(cost_shaper_.status());
  if (options_.push_weights_first &&
      (config::IsReinforcementLearning(options_.mode) || rounds_ != nullptr)) {
    ASSIGN_OR_RETURN(rein::v1::PushWeightsResponse pushed, PushWeightsStage(stages_));
    policy_version_ = pushed.policy_version();
    REIN_LOG(INFO, "coordinator") << "rollouts now hold the resumed policy (version "
                                  << policy_version_ << ")";
  }
  if (rounds_ != nullptr) {
    RETURN_IF_ERROR(rounds_->ResumeTraining(run_.next_iteration()));
    // A run resumed in a round's training phase has done that round's phases before it.
    if (rounds_->Prepared(rounds_->RoundOf(run_.next_iteration()))) {
      prepared_round_ = rounds_->RoundOf(run_.next_iteration());
      if (rounds_->round_preferences() != nullptr) {
        rounds_->round_preferences()->Seek(untrained_cursor_);
      }
    }
  }
  while (true) {
    LoopStep step = run_.NextStep();
    switch (step.kind) {
      case LoopStep::Kind::kEnd:
        // The run's end is evaluated once (a round's end already was).
        if (completed_iteration_ > 0 && evaluator_ != nullptr &&
            evaluator_->last_evaluated() != completed_iteration_) {
          RETURN_IF_ERROR(Evaluate(completed_iteration_).status());
        }
        return absl::OkStatus();
      case LoopStep::Kind::kCheckpoint:
        run_.CompleteCheckpoint(step.checkpoint_ticket, Checkpoint(step.checkpoint_directory));
        break;
      case LoopStep::Kind::kIterate: {
        const uint64_t iteration = run_.next_iteration();
        if (rounds_ != nullptr && prepared_round_ != rounds_->RoundOf(iteration)) {
          ASSIGN_OR_RETURN(const bool prepared, PrepareRound(iteration));
          if (!prepared) return absl::OkStatus();  // stopped while waiting for judgements
          // Pause, stop and checkpoint requests that came in meanwhile go first.
          break;
        }
        absl::Status status = Iterate(iteration, step.parameters);
        if (!status.ok()) {
          return absl::Status(status.code(),
                              absl::StrCat("iteration ", iteration, ": ", status.message()));
        }
        if (rounds_ != nullptr && rounds_->EndsRound(iteration)) {
          RETURN_IF_ERROR(FinishRound(iteration));
          break;
        }
        if (evaluator_ != nullptr && evaluator_->Due(iteration)) {
          RETURN_IF_ERROR(Evaluate(iteration).status());
        }
        if (options_.checkpoint_every > 0 && iteration % options_.checkpoint_every == 0 &&
            !options_.run_dir.empty()) {
          RETURN_IF_ERROR(Checkpoint("").status());
        }
        break;
      }
    }
  }
}

absl::StatusOr<bool> RunLoop::PrepareRound(uint64_t iteration) {
  const uint32_t round = rounds_->RoundOf(iteration);
  if (config::IsOfflinePreference(options_.mode) && policy_version_ > 0) {
    // The offline learners push no weights per iteration: the rollouts get the policy the
    // round samples from now.
    ASSIGN_OR_RETURN(rein::v1::PushWeightsResponse pushed, PushWeightsStage(stages_));
    REIN_LOG(INFO, "coordinator") << "round " << round << ": rollouts hold policy v"
                                  << pushed.policy_version();
  }
  absl::StatusOr<bool> prepared = rounds_->Prepare(round, policy_version_);
  if (!prepared.ok()) {
    return absl::Status(prepared.status().code(),
                        absl::StrCat("round ", round, ": ", prepared.status().message()));
  }
  if (*prepared) {
    prepared_round_ = round;
    untrained_cursor_ = DatasetCursor();  // a new round's data starts at its beginning
  }
  return prepared;
}

absl::StatusOr<std::optional<EvalResult>> RunLoop::Evaluate(uint64_t iteration) {
  if (evaluator_ == nullptr) return std::nullopt;
  const uint32_t round = rounds_ != nullptr ? rounds_->RoundOf(iteration) : 0;
  absl::StatusOr<EvalResult> result = evaluator_->Evaluate(iteration, round);
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat("after iteration ", iteration, ": ", result.status().message()));
  }
  return std::optional<EvalResult>(*std::move(result));
}

absl::Status RunLoop::FinishRound(uint64_t iteration) {
  const uint32_t round = rounds_->RoundOf(iteration);
  ASSIGN_OR_RETURN(std::optional<EvalResult> evaluation, Evaluate(iteration));
  RETURN_IF_ERROR(rounds_->Finish(round, run_.Snapshot().last_iteration(),
                                  evaluation ? &*evaluation : nullptr, policy_version_));
  // The round-end checkpoint is also the policy that the round after next judges against.
  if (options_.run_dir.empty()) return absl::OkStatus();
  return Checkpoint("").status();
}

absl::Status RunLoop::Iterate(uint64_t iteration, const rein::v1::HyperParameters& parameters) {
  if (config::IsReinforcementLearning(options_.mode)) return RlIteration(iteration, parameters);
  if (config::IsOfflinePreference(options_.mode)) {
    return OfflinePreferenceIteration(iteration, parameters);
  }
  return SupervisedIteration(iteration, parameters);
}

absl::Status RunLoop::SupervisedIteration(uint64_t iteration,
                                          const rein::v1::HyperParameters& parameters) {
  const absl::Time start = absl::Now();
  const size_t n = options_.train_batch_size;
  absl::StatusOr<rein::v1::TrainResponse> trained;
  if (options_.mode == config::LearnerMode::kSft) {
    std::vector<data::SftExample> batch = data_.sft->Next(n);
    trained = TrainOnRanks(stages_, iteration, n, parameters,
                           [&](Range range, rein::v1::TrainRequest& request) {
                             for (size_t i = range.begin; i < range.end; ++i) {
                               rein::v1::TokenSequence* sequence =
                                   request.mutable_sft()->add_examples()->mutable_sequence();
                               sequence->set_sequence_id(i);
                               sequence->mutable_prompt_ids()->Add(batch[i].prompt_ids.begin(),
                                                                   batch[i].prompt_ids.end());
                               sequence->mutable_response_ids()->Add(
                                   batch[i].response_ids.begin(), batch[i].response_ids.end());
                             }
                           });
  } else {
    std::vector<data::PreferenceExample> batch = data_.preferences->Next(n);
    trained = TrainOnRanks(stages_, iteration, n, parameters,
                           [&](Range range, rein::v1::TrainRequest& request) {
                             for (size_t i = range.begin; i < range.end; ++i) {
                               FillPreference(batch[i], i,
                                              request.mutable_preferences()->add_preferences());
                             }
                           });
  }
  RETURN_IF_ERROR(trained.status());
  const absl::Duration wall = absl::Now() - start;
  metrics_.ObservePhase("train", wall);
  untrained_cursor_ = DatasetCursor();
  policy_version_ = trained->policy_version();
  rein::v1::Stats stats = trained->stats();
  SetStat(stats, "time/iteration_seconds", absl::ToDoubleSeconds(wall));
  Record(iteration, stats, 0);
  return absl::OkStatus();
}

void RunLoop::Record(uint64_t iteration, const rein::v1::Stats& stats, uint64_t policy_lag) {
  completed_iteration_ = iteration;
  const auto& values = stats.values();
  auto value = [&](const char* key) {
    auto it = values.find(key);
    return it == values.end() ? 0.0 : it->second;
  };
  metrics_.iterations.Increment();
  metrics_.iteration.Set(static_cast<double>(iteration));
  metrics_.reward_mean.Set(value("reward/mean"));
  metrics_.kl_mean.Set(value("kl/mean"));
  metrics_.kl_coef.Set(kl_controller_.coef());
  metrics_.tokens_per_second.Set(value("throughput/tokens_per_second"));
  metrics_.policy_version.Set(static_cast<double>(policy_version_));
  metrics_.policy_lag.Set(static_cast<double>(policy_lag));
  run_.EndIteration(stats, policy_version_, policy_lag);
  if (!options_.run_dir.empty()) {
    // One JSON object per iteration: what `reinctl status` shows, kept for plotting.
    nlohmann::json line = {{"iteration", iteration}, {"policy_version", policy_version_}};
    if (rounds_ != nullptr) line["round"] = rounds_->RoundOf(iteration);
    for (const auto& [key, v] : values) line[key] = v;
    std::ofstream(absl::StrCat(options_.run_dir, "/stats.jsonl"), std::ios::app)
        << line.dump() << "\n";
  }
  std::string summary = absl::StrFormat("iteration %d: ", iteration);
  for (const char* key : {"reward/mean", "kl/mean", "loss/sft", "loss/preference", "accuracy"}) {
    if (values.count(key)) absl::StrAppendFormat(&summary, "%s %.4g, ", key, values.at(key));
  }
  absl::StrAppendFormat(&summary, "%.2f s", value("time/iteration_seconds"));
  REIN_LOG(INFO, "coordinator") << summary;
}

data::PreferenceDataset* RunLoop::Preferences() const {
  if (rounds_ != nullptr && rounds_->round_preferences() != nullptr) {
    return rounds_->round_preferences();
  }
  return data_.preferences;
}

uint64_t RunLoop::DatasetCursor() const {
  if (rounds_ != nullptr && rounds_->round_preferences() != nullptr) {
    return rounds_->round_preferences()->cursor();
  }
  if (data_.prompts) return data_.prompts->cursor();
  if (data_.sft) return data_.sft->cursor();
  if (data_.preferences) return data_.preferences->cursor();
  return 0;
}

CoordinatorState RunLoop::State() const {
  CoordinatorState state;
  state.iteration = completed_iteration_;
  state.dataset_cursor = untrained_cursor_;
  state.kl_coef = kl_controller_.coef();
  state.learning_rate = run_.Parameters().learning_rate();
  state.policy_version = policy_version_;
  state.seed = options_.seed;
  state.mode = std::string(config::EnumName(options_.mode));
  if (cost_shaper_.ok()) state.safety_lambda = cost_shaper_->lambda();
  if (rounds_ != nullptr) state.rounds = rounds_->checkpoint();
  return state;
}

absl::StatusOr<std::string> RunLoop::ResolveCheckpointDir(const std::string& directory) const {
  if (directory.empty()) return std::string();
  std::vector<std::string> roots;
  if (!options_.run_dir.empty()) roots.push_back(options_.run_dir);
  roots.insert(roots.end(), options_.checkpoint_roots.begin(), options_.checkpoint_roots.end());
  return files::ResolveReplaceableDir("directory", directory, roots, kRunCheckpointMarker);
}

absl::StatusOr<rein::v1::CheckpointResponse> RunLoop::Checkpoint(const std::string& directory) {
  const absl::Time start = absl::Now();
  std::string target = directory;
  if (target.empty()) {
    if (options_.run_dir.empty()) {
      return absl::FailedPreconditionError("no folder given and the run has no run folder");
    }
    target = absl::StrCat(options_.run_dir, "/checkpoints/iter-", completed_iteration_);
  }
  const CoordinatorState state = State();
  RETURN_IF_ERROR(WriteRunCheckpoint(target, state, [&](const std::string& learner_dir) {
    return SaveCheckpointStage(stages_, learner_dir, options_.sharded_optimizer).status();
  }));
  checkpointed_iteration_ = completed_iteration_;
  metrics_.checkpoints.Increment();
  metrics_.ObservePhase("checkpoint", absl::Now() - start);
  REIN_LOG(INFO, "coordinator") << "checkpoint of iteration " << completed_iteration_ << " in "
                                << target;
  rein::v1::CheckpointResponse response;
  response.set_directory(target);
  response.set_iteration(completed_iteration_);
  return response;
}

}  // namespace rein::coordinator
