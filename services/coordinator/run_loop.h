// The coordinator's iteration loop.
//
// RL modes (ppo, grpo, rloo, reinforce++), per iteration: take a batch of prompts from the
// dataset cursor, Generate on the rollout replicas, Score ‖ LogProbs on the reward and
// reference replicas, Train on the learner ranks, have learner rank 0 push the new weights to
// every rollout replica, and record the statistics (RunState, Prometheus, stats.jsonl).
//   sync:  each iteration generates with the weights of the previous one (policy lag 0).
//   async: while the learner trains on batch k, batch k+1 is generated and scored with the
//          weights the rollouts hold then, so samples lag the learner by at most one version;
//          each Generate asks for min_policy_version = the version when the batch was started.
// The KL coefficient comes from the KL controller (fixed or adaptive), fed the learner's
// "kl/mean" after each iteration; `reinctl set kl_coef` overrides it.
//
// sft and reward-model modes: each iteration trains on the next data.train_batch_size
// examples of data.train; there are no rollouts and no weight push.
//
// dpo, ipo and kto: the same, with each example's reference log-probs from the reference
// replicas first (offline_iteration.cc). RunData::preferences must already be in the mode's
// shape (data::OfflinePreferenceView).
//
// Rounds (rounds.h): before a round's first iteration the round's phases run (sampling,
// collecting, reward model, reloading); after its last the round is evaluated, recorded and
// checkpointed. Evaluation (evaluation.h): every eval.every iterations, at each round's end and
// at the run's end.
//
// Checkpoints (run_dir/checkpoints/iter-<n>): every checkpoint_every iterations, on request
// (reinctl checkpoint), at the end of every round, and at the end of the run.
//
// Ownership: everything passed to the constructor is borrowed and must outlive the loop.
// Thread safety: Run() runs on one thread; control (pause, stop, set, checkpoint) goes through
// RunState.
#ifndef REIN_SERVICES_COORDINATOR_RUN_LOOP_H_
#define REIN_SERVICES_COORDINATOR_RUN_LOOP_H_

#include <cstdint>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config/config_enums.h"
#include "common/data/prompt_dataset.h"
#include "common/data/training_examples.h"
#include "common/rl/kl.h"
#include "services/coordinator/evaluation.h"
#include "services/coordinator/loop_metrics.h"
#include "services/coordinator/rounds.h"
#include "services/coordinator/run_checkpoint.h"
#include "services/coordinator/run_state.h"
#include "services/coordinator/safety.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

struct RunLoopOptions {
  config::LearnerMode mode = config::LearnerMode::kPpo;
  // Async RL (see above). Default sync.
  bool async = false;
  // Prompts per iteration, and responses sampled per prompt (RL modes).
  uint32_t batch_size = 64;
  uint32_t samples_per_prompt = 1;
  rein::v1::SamplingParams sampling;
  // Examples per iteration (sft, reward-model, dpo, ipo, kto).
  uint32_t train_batch_size = 32;
  // Seed of the run; prompt i of iteration k samples with a seed derived from (seed, k, i).
  uint64_t seed = 42;
  // The KL controller; init_coef is the configured ppo.kl_coef.
  rl::KlControllerOptions kl;
  // Where checkpoints and stats.jsonl go; empty = none.
  std::string run_dir;
  // Folders a Checkpoint request may name a folder under (common/files/confined_path.h), the
  // run folder among them. Empty = only run_dir.
  std::vector<std::string> checkpoint_roots;
  // Iterations between checkpoints; 0 = only at the end.
  uint32_t checkpoint_every = 0;
  // Push the learner's weights to the rollouts before the first iteration (a resumed run:
  // the rollouts loaded the initial policy from disk).
  bool push_weights_first = false;
  // How the cost model's score enters the reward (RL modes).
  config::SafetyConfig safety;
  // learner.zero_stage 1 on several ranks: a checkpoint asks every learner rank (each sends
  // its share of the optimizer state to rank 0), not rank 0 alone.
  bool sharded_optimizer = false;
  // Workers the run waits for before its first iteration, per role.
  std::map<rein::v1::Role, int> expected_workers;
  absl::Duration worker_wait = absl::Minutes(10);
};

// The data of the run; the mode says which is used (others may be null).
struct RunData {
  data::PromptDataset* prompts = nullptr;
  data::SftDataset* sft = nullptr;
  data::PreferenceDataset* preferences = nullptr;
};

class RunLoop {
 public:
  // `resumed_from` (when resuming) restores the dataset cursor, KL coefficient and policy
  // version; RunState must already start at the iteration after it.
  RunLoop(const RunLoopOptions& options, StageContext stages, RunData data, RunState& run,
          prometheus::Registry& metrics,
          const std::optional<CoordinatorState>& resumed_from = std::nullopt);
  ~RunLoop();

  // Runs with rounds: the driver of the round cycle (borrowed; call before Run).
  void AttachRounds(RoundDriver* rounds) { rounds_ = rounds; }
  // Runs with evaluation sets (borrowed; call before Run).
  void AttachEvaluator(Evaluator* evaluator) { evaluator_ = evaluator; }

  // Waits for the expected workers, then runs iterations until the run ends (all done, or
  // stopped), writing checkpoints as configured. Returns the first error, after marking the
  // run FAILED with it.
  absl::Status Run();

  // The folder a Checkpoint request for `directory` writes, resolved and confined to the
  // checkpoint roots (relative to the run folder); "" for the run's default place. An existing
  // folder must be a run checkpoint (FAILED_PRECONDITION otherwise; see confined_path.h for the
  // other refusals).
  absl::StatusOr<std::string> ResolveCheckpointDir(const std::string& directory) const;

 private:
  // A batch of scored samples, possibly generated ahead of its iteration (async).
  struct PreparedBatch {
    std::vector<Sample> samples;
    uint64_t cursor_before = 0;  // dataset cursor before its prompts were taken
    absl::Duration generate_time, score_time;
    DispatchStats generate_stats, reward_stats, reference_stats;
  };

  absl::Status RunSteps();
  // Runs with rounds: the phases before a round's first iteration (false: stopped meanwhile)
  // and the record and checkpoint after its last.
  absl::StatusOr<bool> PrepareRound(uint64_t iteration);
  absl::Status FinishRound(uint64_t iteration);
  // Evaluates after `iteration` when an evaluator is attached; nullopt without one.
  absl::StatusOr<std::optional<EvalResult>> Evaluate(uint64_t iteration);
  absl::Status Iterate(uint64_t iteration, const rein::v1::HyperParameters& parameters);
  absl::Status RlIteration(uint64_t iteration, const rein::v1::HyperParameters& parameters);
  absl::Status SupervisedIteration(uint64_t iteration,
                                   const rein::v1::HyperParameters& parameters);
  absl::Status OfflinePreferenceIteration(uint64_t iteration,
                                          const rein::v1::HyperParameters& parameters);
  absl::StatusOr<PreparedBatch> PrepareBatch(uint64_t iteration, uint64_t min_policy_version);
  void DiscardPrefetch();
  std::vector<PromptItem> TakePrompts(uint64_t iteration);
  absl::Status AdoptLiveKlCoef(const rein::v1::HyperParameters& parameters);
  absl::Status UpdateKlController(const rein::v1::Stats& stats, size_t samples);
  void Record(uint64_t iteration, const rein::v1::Stats& stats, uint64_t policy_lag);
  absl::StatusOr<rein::v1::CheckpointResponse> Checkpoint(const std::string& directory);
  CoordinatorState State() const;
  uint64_t DatasetCursor() const;
  // The judgements the offline modes train on: the round's with rounds, else data.train's.
  data::PreferenceDataset* Preferences() const;

  const RunLoopOptions options_;
  const StageContext stages_;
  const RunData data_;
  RunState& run_;
  LoopMetrics metrics_;
  rl::KlController kl_controller_;
  absl::StatusOr<CostShaper> cost_shaper_;  // an error (bad restored λ) fails the run at start
  uint64_t policy_version_ = 0;
  uint64_t completed_iteration_ = 0;
  uint64_t checkpointed_iteration_ = 0;
  // Async: the next iteration's batch, being generated while this one trains.
  std::optional<std::future<absl::StatusOr<PreparedBatch>>> prefetch_;
  uint64_t untrained_cursor_ = 0;  // cursor before the oldest batch not yet trained
  RoundDriver* rounds_ = nullptr;
  Evaluator* evaluator_ = nullptr;
  uint32_t prepared_round_ = 0;  // the round whose phases before training are done
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_RUN_LOOP_H_
