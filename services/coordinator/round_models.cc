// RoundDriver's model work: each round's training data from rein-feedback's exports, the
// reward-model and cost-model learners (warm from what they saved last), the offline
// learners' data, and reloading the reward replicas with the held-out accuracy. The round's
// phases and records are in rounds.cc.
#include <algorithm>
#include <filesystem>
#include <random>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files/file_util.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/coordinator/round_stages.h"
#include "services/coordinator/rounds.h"

namespace rein::coordinator {
namespace {

absl::Status WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  return files::WriteFileAtomically(path, [&](int fd) -> absl::Status {
    for (const std::string& line : lines) {
      const std::string text = line + "\n";
      RETURN_IF_ERROR(files::WriteAll(fd, text.data(), text.size(), path));
    }
    return absl::OkStatus();
  });
}

}  // namespace

data::TrainingDataOptions RoundDriver::DataOptions() const {
  data::TrainingDataOptions options;
  options.format = options_.prompt_format;
  options.max_prompt_tokens = options_.max_prompt_tokens;
  options.max_response_tokens = options_.max_response_tokens;
  return options;
}

absl::StatusOr<std::unique_ptr<data::PreferenceDataset>> RoundDriver::LoadLines(
    const std::string& path, const std::vector<std::string>& lines) const {
  RETURN_IF_ERROR(WriteLines(path, lines));
  return data::LoadPreferenceDataset(path, *tokenizer_, DataOptions());
}

absl::StatusOr<std::string> RoundDriver::TrainTrack(ModelTrack& track, uint32_t round,
                                                    uint32_t saved_round,
                                                    const std::string& saved_dir,
                                                    data::PreferenceDataset& data) {
  // Warm start: the learner must hold the state it saved last (its starting one if none).
  if (track.holds_round != saved_round) {
    if (saved_round > 0) {
      ASSIGN_OR_RETURN(rein::v1::RestoreResponse restored,
                       RestoreModelLearnerStage(stages_, track.role, saved_dir));
      REIN_LOG(INFO, "coordinator") << "round " << round << ": " << track.name
                                    << " learner restored " << saved_dir << " (step "
                                    << restored.step() << ")";
    }
    track.holds_round = saved_round;
  }
  double loss_sum = 0;
  for (int step = 1; step <= track.steps; ++step) {
    rein::v1::TrainRequest request;
    request.set_iteration(uint64_t{round - 1} * track.steps + step);
    std::vector<data::PreferenceExample> examples =
        data.Next(static_cast<size_t>(track.batch_size));
    for (size_t i = 0; i < examples.size(); ++i) {
      FillPreference(examples[i], i, request.mutable_preferences()->add_preferences());
    }
    ASSIGN_OR_RETURN(rein::v1::TrainResponse trained,
                     TrainModelLearnerStage(stages_, track.role, request));
    for (const char* key : {"loss/preference", "loss/unpaired"}) {
      if (auto it = trained.stats().values().find(key); it != trained.stats().values().end()) {
        loss_sum += it->second;
      }
    }
  }
  track.holds_round.reset();  // mid-save nobody knows; set again once saved
  const std::string learner_dir = absl::StrCat(RoundDir(round), "/", track.folder);
  RETURN_IF_ERROR(SaveModelLearnerStage(stages_, track.role, learner_dir));
  track.holds_round = round;
  REIN_LOG(INFO, "coordinator") << "round " << round << ": " << track.name << " trained on "
                                << data.size() << " examples, " << track.steps
                                << " steps, mean loss " << loss_sum / track.steps;
  return learner_dir;
}

absl::StatusOr<std::vector<std::string>> RoundDriver::ExportedPairs(
    uint32_t round, const Collected& collected, std::vector<std::string>* heldout) {
  const config::RoundRewardModelConfig& rm = options_.rounds.reward_model;
  ASSIGN_OR_RETURN(FeedbackLink * feedback, Feedback());
  const uint32_t first = rm.data == config::RoundData::kAll ? 1 : round;
  std::vector<std::string> train;
  for (uint32_t k = first; k <= round; ++k) {
    const std::string campaign = k == round ? collected.campaign : CampaignName(k);
    ASSIGN_OR_RETURN(std::string jsonl, feedback->Export(campaign, rein::v1::EXPORT_FORMAT_PAIRS,
                                                         options_.rounds.include_synthetic));
    SplitLines split = SplitHeldout(jsonl, heldout ? rm.heldout_fraction : 0.0, options_.seed);
    train.insert(train.end(), split.train.begin(), split.train.end());
    // Accuracy is measured on the new round's held-out pairs; earlier ones are never trained on.
    if (k == round && heldout != nullptr) *heldout = std::move(split.heldout);
  }
  if (train.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no preference pair to train on (", collected.judgements, " judgements in ",
                     collected.campaign, "; ties and both-bad give none",
                     options_.rounds.include_synthetic ? ""
                                                       : "; synthetic annotators count only with "
                                                         "rounds.include_synthetic",
                     ")"));
  }
  std::mt19937_64 shuffle(options_.seed + round);
  std::shuffle(train.begin(), train.end(), shuffle);
  return train;
}

absl::Status RoundDriver::ExportOfflinePreferences(uint32_t round, const Collected& collected) {
  ASSIGN_OR_RETURN(std::vector<std::string> train, ExportedPairs(round, collected, nullptr));
  std::error_code error;
  std::filesystem::create_directories(RoundDir(round), error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", RoundDir(round), ": ",
                                            error.message()));
  }
  RETURN_IF_ERROR(WriteLines(RoundDir(round) + "/train.jsonl", train));
  RETURN_IF_ERROR(LoadOfflinePreferences(round));
  checkpoint_ = RoundCheckpoint{};
  checkpoint_->round = round;  // prepared: the policy trains on the round's pairs
  return absl::OkStatus();
}

absl::Status RoundDriver::LoadOfflinePreferences(uint32_t round) {
  ASSIGN_OR_RETURN(std::unique_ptr<data::PreferenceDataset> loaded,
                   data::LoadPreferenceDataset(RoundDir(round) + "/train.jsonl", *tokenizer_,
                                               DataOptions()));
  size_t left_out = 0;
  ASSIGN_OR_RETURN(round_preferences_,
                   data::OfflinePreferenceView(*loaded, options_.mode != config::LearnerMode::kKto,
                                               &left_out));
  REIN_LOG(INFO, "coordinator") << "round " << round << ": the policy trains on "
                                << round_preferences_->size() << " judgements (" << left_out
                                << " give nothing to learn in " << config::EnumName(options_.mode)
                                << ")";
  return absl::OkStatus();
}

absl::Status RoundDriver::TrainRewardModel(uint32_t round, const Collected& collected) {
  std::vector<std::string> heldout;
  ASSIGN_OR_RETURN(std::vector<std::string> train, ExportedPairs(round, collected, &heldout));
  const std::string dir = RoundDir(round);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  RETURN_IF_ERROR(WriteLines(dir + "/heldout.jsonl", heldout));
  ASSIGN_OR_RETURN(std::unique_ptr<data::PreferenceDataset> data,
                   LoadLines(dir + "/train.jsonl", train));
  const uint32_t saved = checkpoint_ ? checkpoint_->round : 0;
  if (round > 1 && saved != round - 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("the checkpoint does not say where round ", round - 1, "'s reward model is"));
  }
  ASSIGN_OR_RETURN(const std::string learner_dir,
                   TrainTrack(reward_track_, round, saved,
                              checkpoint_ ? checkpoint_->reward_learner_dir : "", *data));
  RoundCheckpoint next = checkpoint_.value_or(RoundCheckpoint{});
  next.round = round;
  next.reward_model_version = round;
  next.reward_model_dir = learner_dir + "/policy";
  next.reward_learner_dir = learner_dir;
  next.reward_model_accuracy.reset();
  checkpoint_ = next;
  return absl::OkStatus();
}

absl::StatusOr<bool> RoundDriver::TrainCostModel(uint32_t round) {
  if (options_.rounds.cost_model.steps == 0 || round < 2) return false;
  // The flags people put on the red-team responses posted at the end of rounds 1 .. round-1.
  ASSIGN_OR_RETURN(FeedbackLink * feedback, Feedback());
  std::vector<std::string> labels;
  for (uint32_t k = 1; k < round; ++k) {
    absl::StatusOr<std::string> jsonl = feedback->Export(
        RedTeamName(k), rein::v1::EXPORT_FORMAT_UNPAIRED, options_.rounds.include_synthetic);
    if (absl::IsNotFound(jsonl.status())) continue;  // that round posted none
    RETURN_IF_ERROR(jsonl.status());
    for (absl::string_view line : absl::StrSplit(*jsonl, '\n', absl::SkipWhitespace())) {
      labels.emplace_back(line);
    }
  }
  if (labels.empty()) {
    REIN_LOG(INFO, "coordinator") << "round " << round
                                  << ": no flags on the red-team campaigns yet; the cost model "
                                     "stays as it is";
    return false;
  }
  std::mt19937_64 shuffle(options_.seed + round + 0x636f7374);
  std::shuffle(labels.begin(), labels.end(), shuffle);
  ASSIGN_OR_RETURN(std::unique_ptr<data::PreferenceDataset> loaded,
                   LoadLines(RoundDir(round) + "/cost-train.jsonl", labels));
  size_t left_out = 0;
  ASSIGN_OR_RETURN(std::unique_ptr<data::PreferenceDataset> data,
                   data::CostModelView(*loaded, &left_out));
  ASSIGN_OR_RETURN(const std::string learner_dir,
                   TrainTrack(cost_track_, round, checkpoint_->cost_round,
                              checkpoint_->cost_learner_dir, *data));
  checkpoint_->cost_round = round;
  checkpoint_->cost_model_dir = learner_dir + "/policy";
  checkpoint_->cost_learner_dir = learner_dir;
  return true;
}

absl::Status RoundDriver::ReloadAndEvaluate(uint32_t round, const std::string& heldout_path) {
  Publish(rein::v1::ROUND_PHASE_RELOADING);
  ASSIGN_OR_RETURN(std::string fingerprint,
                   ReloadRewardStage(stages_, checkpoint_->reward_model_dir, round));
  status_.set_reward_model_version(round);
  status_.clear_reward_model_accuracy();
  absl::StatusOr<std::unique_ptr<data::PreferenceDataset>> heldout =
      data::LoadPreferenceDataset(heldout_path, *tokenizer_, DataOptions());
  if (!heldout.ok()) {
    REIN_LOG(WARNING, "coordinator")
        << "round " << round << ": no held-out accuracy (" << heldout.status().message() << ")";
    return absl::OkStatus();
  }
  std::vector<Sample> samples;
  for (const data::PreferenceExample& example : (*heldout)->examples()) {
    for (size_t side = 0; side < 2 && side < example.responses.size(); ++side) {
      Sample sample;
      sample.sequence_id = samples.size();
      sample.prompt_ids.assign(example.prompt_ids.begin(), example.prompt_ids.end());
      sample.response_ids.assign(example.responses[side].begin(), example.responses[side].end());
      samples.push_back(std::move(sample));
    }
  }
  DispatchStats stats;
  RETURN_IF_ERROR(RewardStage(stages_, samples, &stats));
  size_t right = 0;
  for (size_t i = 0; i + 1 < samples.size(); i += 2) {
    if (samples[i].reward_model_version != round || samples[i + 1].reward_model_version != round) {
      return absl::InternalError(absl::StrCat("a reward replica scored with reward model v",
                                              samples[i].reward_model_version,
                                              " after the Reload to v", round));
    }
    right += samples[i].reward > samples[i + 1].reward ? 1 : 0;
  }
  const double accuracy = static_cast<double>(right) / static_cast<double>(samples.size() / 2);
  status_.set_reward_model_accuracy(accuracy);
  checkpoint_->reward_model_accuracy = accuracy;
  REIN_LOG(INFO, "coordinator") << "round " << round << ": reward model v" << round << " ("
                                << fingerprint << ") scores " << samples.size() / 2
                                << " held-out pairs with accuracy " << accuracy;
  return absl::OkStatus();
}

}  // namespace rein::coordinator
