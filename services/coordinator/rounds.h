// The round cycle of a run with `rounds:` (DESIGN.md, "Rounds"), driven by the run loop at
// round boundaries. Round r (1-based) covers RL iterations (r−1)·K+1 .. r·K; before its first
// iteration, Prepare runs the round's phases:
//   sampling      rounds.prompts_per_round prompts, one response from the current policy and
//                 one from an earlier version each (policy_dir on the rollouts; round 1: two
//                 samples of the starting policy), posted as items of campaign
//                 <run.name>-round-<r>;
//   collecting    until the campaign holds `judgements` judgements, every item is complete, or
//                 rounds.deadline after the campaign's creation (progress in RunStatus.round);
//   reward model  the round's pairs (or every round's, rounds.reward_model.data) exported and
//                 split into training and held-out lines; the reward-model learner trains
//                 rounds.reward_model.steps steps, warm from the previous round, and saves
//                 <run>/rounds/round-<r>/reward-learner (its policy/ folder is the model);
//                 with rounds.cost_model, from round 2 on the cost-model learner likewise
//                 trains on every flag of the red-team campaigns so far (cost-learner/) and
//                 the reward replicas load it as cost model version r;
//   reloading     every reward replica loads it as reward model version r; the held-out pairs
//                 are scored through them for the model's accuracy.
// The RL iterations follow (phase training); Finish records the round, with the round-end
// evaluation, and posts the red-team responses as campaign <run.name>-red-team-<r> (FLAG
// question) for people to approve or flag (rounds.jsonl and a
// "round_end" line in stats.jsonl: judgements, accuracy, the Elo table of the versions the
// round's campaign compared and the one over every round's campaign so far, the last
// iteration's reward and KL).
//
// Restarts: the checkpoint keeps the reward model in use (RoundCheckpoint). Every phase before
// training is idempotent — the campaign is found again by name, items by external id,
// judgements stay in rein-feedback, the deadline counts from the campaign's creation, the
// reward-model learner restores the previous round's state — so a run killed in any phase
// resumes from its last checkpoint and redoes only the unfinished phase's own work.
//
// The model work (training data, learners, reload) is in round_models.cc.
//
// Thread safety: called from the run loop's thread only.
#ifndef REIN_SERVICES_COORDINATOR_ROUNDS_H_
#define REIN_SERVICES_COORDINATOR_ROUNDS_H_

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/data/prompt_dataset.h"
#include "common/data/training_examples.h"
#include "common/rpc/options.h"
#include "common/tokenizer/tokenizer.h"
#include "services/coordinator/evaluation.h"
#include "services/coordinator/feedback_link.h"
#include "services/coordinator/round_items.h"
#include "services/coordinator/run_checkpoint.h"
#include "services/coordinator/run_state.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

struct RoundOptions {
  config::RoundsConfig rounds;
  // RL modes train a reward model each round; dpo, ipo and kto train the policy on the round's
  // judgements directly (no reward model, no reward replicas).
  config::LearnerMode mode = config::LearnerMode::kPpo;
  std::string run_name;
  std::string run_dir;     // checkpoints/, rounds/, stats.jsonl
  std::string sft_policy;  // model.policy: policy version 0
  uint64_t seed = 42;
  rein::v1::SamplingParams sampling;
  data::PromptFormat prompt_format = data::PromptFormat::kText;
  int max_prompt_tokens = 1024;
  int max_response_tokens = 1024;
  // Post each round's red-team responses (the evaluation's "red-team" set) as a flag campaign
  // <run_name>-red-team-<r> with this overlap.
  bool red_team_campaign = false;
  int red_team_overlap = 1;
  // Calls to rein-feedback; auth_token is the feedback admin token.
  rpc::ClientOptions feedback_client;
  absl::Duration call_timeout = absl::Minutes(5);
};

class RoundDriver {
 public:
  // Everything passed is borrowed and must outlive the driver. `prompts` is the rounds' own
  // prompt dataset (its cursor is the driver's). `resumed` is the checkpoint's round state.
  RoundDriver(RoundOptions options, StageContext stages, data::PromptDataset* prompts,
              const tokenizer::Tokenizer* tokenizer, RunState& run, prometheus::Registry& metrics,
              std::optional<RoundCheckpoint> resumed);
  ~RoundDriver();

  uint32_t RoundOf(uint64_t iteration) const;
  bool StartsRound(uint64_t iteration) const;
  bool EndsRound(uint64_t iteration) const;

  // Whether round `round`'s phases before training are done (as the checkpoint says).
  bool Prepared(uint32_t round) const;

  // A resumed run whose next iteration's round is prepared (its checkpoint was written in the
  // round's training phase): the reward replicas go back to that round's model.
  absl::Status ResumeTraining(uint64_t next_iteration);

  // The phases before round `round`'s RL iterations. false (and OK) when a stop request ended
  // the wait for judgements.
  absl::StatusOr<bool> Prepare(uint32_t round, uint64_t policy_version);

  // Records round `round` after its last iteration, whose statistics are `last`, with the
  // round-end evaluation (null = none; its red-team responses are posted for flagging) of the
  // policy at `policy_version`.
  absl::Status Finish(uint32_t round, const rein::v1::Stats& last, const EvalResult* evaluation,
                      uint64_t policy_version);

  // What the run checkpoint keeps (nullopt before round 1's reward model).
  const std::optional<RoundCheckpoint>& checkpoint() const { return checkpoint_; }

  // Offline modes: the judgements the round's iterations train on, in the mode's shape (null
  // before a round is prepared).
  data::PreferenceDataset* round_preferences() { return round_preferences_.get(); }

 private:
  struct Metrics;
  // What collection left for the reward model.
  struct Collected {
    std::string campaign;
    uint32_t judgements = 0;
  };
  // How the round's exported lines are read (the run's prompt format and lengths).
  data::TrainingDataOptions DataOptions() const;
  absl::StatusOr<FeedbackLink*> Feedback();
  std::string CampaignName(uint32_t round) const;
  std::string RoundDir(uint32_t round) const;
  absl::StatusOr<PolicyRef> PreviousPolicy(uint32_t round) const;
  absl::Status SampleAndPost(uint32_t round, uint64_t policy_version, const std::string& campaign);
  absl::StatusOr<std::optional<Collected>> Collect(uint32_t round,
                                                   const rein::v1::Campaign& campaign);
  // One of the run's model learners, and the round whose state it holds as far as this process
  // knows (nullopt after a restart: restore before training on).
  struct ModelTrack {
    rein::v1::Role role = rein::v1::ROLE_REWARD_LEARNER;
    std::string name;    // "reward model"
    std::string folder;  // under the round's folder: "reward-learner"
    int steps = 0;
    int batch_size = 0;
    std::optional<uint32_t> holds_round;
  };
  // `lines` written to `path` and read back as training examples.
  absl::StatusOr<std::unique_ptr<data::PreferenceDataset>> LoadLines(
      const std::string& path, const std::vector<std::string>& lines) const;
  // Trains the track's learner its steps on `data`, warm from the state it saved last
  // (`saved_round` 0 = its starting state), and saves it under the round's folder; that folder.
  absl::StatusOr<std::string> TrainTrack(ModelTrack& track, uint32_t round, uint32_t saved_round,
                                         const std::string& saved_dir,
                                         data::PreferenceDataset& data);
  absl::Status TrainRewardModel(uint32_t round, const Collected& collected);
  // From round 2 on, with rounds.cost_model: the cost model on every flag of the red-team
  // campaigns so far; false when there was nothing to train (or it is off).
  absl::StatusOr<bool> TrainCostModel(uint32_t round);
  // Offline modes: the round's pairs (or every round's, rounds.reward_model.data) exported to
  // <run>/rounds/round-<r>/train.jsonl, the policy's training data for the round.
  absl::Status ExportOfflinePreferences(uint32_t round, const Collected& collected);
  // Reads the round's train.jsonl into round_preferences_ in the mode's shape.
  absl::Status LoadOfflinePreferences(uint32_t round);
  bool offline() const { return config::IsOfflinePreference(options_.mode); }
  // The round's (or every round's so far) pairs as exported JSON lines.
  absl::StatusOr<std::vector<std::string>> ExportedPairs(uint32_t round,
                                                         const Collected& collected,
                                                         std::vector<std::string>* heldout);
  std::string RedTeamName(uint32_t round) const;
  absl::Status ReloadAndEvaluate(uint32_t round, const std::string& heldout_path);
  // The red-team responses of `evaluation` as campaign <run>-red-team-<round>; its name.
  absl::StatusOr<std::string> PostRedTeam(uint32_t round, const std::vector<EvalSample>& samples);
  void Publish(rein::v1::RoundPhase phase);
  // The campaign's judgements and version ratings into status_.
  void TakeProgress(const rein::v1::CampaignStatus& progress);

  const RoundOptions options_;
  const StageContext stages_;
  data::PromptDataset* const prompts_;
  const tokenizer::Tokenizer* const tokenizer_;
  RunState& run_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<FeedbackLink> feedback_;
  std::optional<RoundCheckpoint> checkpoint_;
  std::unique_ptr<data::PreferenceDataset> round_preferences_;
  ModelTrack reward_track_;
  ModelTrack cost_track_;
  rein::v1::RoundStatus status_;
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_ROUNDS_H_
