#include "services/reinctl/run_status_format.h"

#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace rein::reinctl {
namespace {

// "1h02m", "3m20s", "42s".
std::string ShortDuration(absl::Duration d) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds >= 3600) return absl::StrFormat("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
  if (seconds >= 60) return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  return absl::StrFormat("%ds", seconds);
}

std::string PhaseName(rein::v1::RoundPhase phase) {
  switch (phase) {
    case rein::v1::ROUND_PHASE_SAMPLING: return "sampling";
    case rein::v1::ROUND_PHASE_COLLECTING: return "collecting";
    case rein::v1::ROUND_PHASE_REWARD_MODEL: return "training the reward model";
    case rein::v1::ROUND_PHASE_RELOADING: return "reloading the reward model";
    case rein::v1::ROUND_PHASE_TRAINING: return "training";
    case rein::v1::ROUND_PHASE_DONE: return "done";
    default: return "starting";
  }
}

// "round 2/4 collecting 140/200 judgements (3m20s left)  RM v1 acc 0.812".
std::string FormatRound(const rein::v1::RoundStatus& round) {
  std::string text = absl::StrFormat("round %d/%d %s", round.round(), round.total_rounds(),
                                     PhaseName(round.phase()));
  if (round.phase() == rein::v1::ROUND_PHASE_COLLECTING) {
    absl::StrAppendFormat(&text, " %d/%d judgements (%s left)", round.judgements(),
                          round.judgements_needed(),
                          ShortDuration(absl::Seconds(round.deadline_seconds_left())));
  }
  if (round.reward_model_version() > 0) {
    absl::StrAppendFormat(&text, "  RM v%d", round.reward_model_version());
    if (round.has_reward_model_accuracy()) {
      absl::StrAppendFormat(&text, " acc %.3f", round.reward_model_accuracy());
    }
  }
  return text;
}

// "  versions (Elo, 95% interval): v0 0 [-0, +0], v30 +85 [+40, +130]".
std::string FormatRatings(const rein::v1::RoundStatus& round) {
  std::string text = "\n  versions judged (Elo, 95% interval):";
  for (const rein::v1::VersionRating& r : round.ratings()) {
    absl::StrAppendFormat(&text, " v%d %+.0f [%+.0f, %+.0f] (%d games)", r.policy_version(),
                          r.elo(), r.elo_low(), r.elo_high(), r.games());
  }
  return text;
}

}  // namespace

std::string RunStateName(rein::v1::RunState state) {
  return std::string(absl::StripPrefix(rein::v1::RunState_Name(state), "RUN_STATE_"));
}

bool RunEnded(rein::v1::RunState state) {
  return state == rein::v1::RUN_STATE_FINISHED || state == rein::v1::RUN_STATE_FAILED ||
         state == rein::v1::RUN_STATE_STOPPED;
}

std::string FormatRunStatus(const rein::v1::RunStatus& status, bool with_ratings) {
  std::string line = absl::StrFormat("%-8s ", RunStateName(status.state()));
  if (status.has_round()) absl::StrAppend(&line, FormatRound(status.round()), "  ");
  absl::StrAppendFormat(&line, "iter %d/%d", status.iteration(), status.total_iterations());
  const auto& stats = status.last_iteration().values();
  auto add = [&](const char* key, const char* format) {
    auto it = stats.find(key);
    if (it != stats.end()) absl::StrAppendFormat(&line, format, it->second);
  };
  add("reward/mean", "  reward %.3f");
  add("kl/mean", "  KL %.4f");
  add("loss/sft", "  loss %.4f");
  add("loss/preference", "  loss %.4f");
  add("accuracy", "  acc %.3f");
  add("throughput/tokens_per_second", "  %.0f tok/s");
  if (status.has_eta() && !RunEnded(status.state())) {
    absl::Duration eta = absl::Seconds(status.eta().seconds()) + absl::Nanoseconds(status.eta().nanos());
    absl::StrAppend(&line, "  ETA ", ShortDuration(eta));
  }
  if (status.policy_version() > 0) absl::StrAppendFormat(&line, "  policy v%d", status.policy_version());
  if (status.max_policy_lag() > 0) absl::StrAppendFormat(&line, " (lag<=%d)", status.max_policy_lag());
  if (with_ratings && status.has_round() && status.round().ratings_size() > 0) {
    absl::StrAppend(&line, FormatRatings(status.round()));
  }
  if (!status.error().empty()) absl::StrAppend(&line, "\n  error: ", status.error());
  return line;
}

std::optional<rein::v1::RunStatus> ReadFinalStatus(const std::string& run_dir) {
  if (run_dir.empty()) return std::nullopt;
  std::ifstream in(absl::StrCat(run_dir, "/status.json"));
  if (!in) return std::nullopt;
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  rein::v1::RunStatus status;
  if (!google::protobuf::util::JsonStringToMessage(json, &status).ok()) return std::nullopt;
  return status;
}

}  // namespace rein::reinctl
