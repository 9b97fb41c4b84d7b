#include "services/coordinator/run_checkpoint.h"

#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/files/file_util.h"
#include "common/status/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace rein::coordinator {
namespace {

using Json = nlohmann::json;

constexpr int kFormatVersion = 1;
constexpr const char* kStateFile = kRunCheckpointMarker;

Json ToJson(const CoordinatorState& state) {
  Json json{{"format_version", kFormatVersion}, {"iteration", state.iteration},
            {"dataset_cursor", state.dataset_cursor}, {"kl_coef", state.kl_coef},
            {"learning_rate", state.learning_rate}, {"policy_version", state.policy_version},
            {"seed", state.seed}, {"mode", state.mode}};
  if (state.safety_lambda.has_value()) json["safety_lambda"] = *state.safety_lambda;
  if (state.rounds.has_value()) {
    const RoundCheckpoint& r = *state.rounds;
    Json rounds{{"round", r.round},
                {"reward_model_version", r.reward_model_version},
                {"reward_model_dir", r.reward_model_dir},
                {"reward_learner_dir", r.reward_learner_dir}};
    if (r.reward_model_accuracy) rounds["reward_model_accuracy"] = *r.reward_model_accuracy;
    if (r.cost_round > 0) {
      rounds["cost_round"] = r.cost_round;
      rounds["cost_model_dir"] = r.cost_model_dir;
      rounds["cost_learner_dir"] = r.cost_learner_dir;
    }
    json["rounds"] = rounds;
  }
  return json;
}

template <typename T>
absl::Status Take(const Json& json, const char* key, const std::string& path, T* out) {
  auto it = json.find(key);
  if (it == json.end()) return absl::InvalidArgumentError(absl::StrCat(path, ": missing ", key));
  const bool ok = std::is_same_v<T, std::string> ? it->is_string()
                  : std::is_floating_point_v<T>  ? it->is_number()
                                                 : it->is_number_unsigned();
  if (!ok) return absl::InvalidArgumentError(absl::StrCat(path, ": ", key, " has the wrong type"));
  *out = it->get<T>();
  return absl::OkStatus();
}

// A key that older checkpoints may lack.
absl::Status TakeOptional(const Json& json, const char* key, const std::string& path,
                          std::optional<double>* out) {
  if (!json.contains(key)) return absl::OkStatus();
  double value = 0;
  RETURN_IF_ERROR(Take(json, key, path, &value));
  *out = value;
  return absl::OkStatus();
}

absl::StatusOr<RoundCheckpoint> RoundsFromJson(const Json& json, const std::string& path) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": rounds is not an object"));
  }
  const std::string where = absl::StrCat(path, ": rounds");
  RoundCheckpoint r;
  RETURN_IF_ERROR(Take(json, "round", where, &r.round));
  RETURN_IF_ERROR(Take(json, "reward_model_version", where, &r.reward_model_version));
  RETURN_IF_ERROR(Take(json, "reward_model_dir", where, &r.reward_model_dir));
  RETURN_IF_ERROR(Take(json, "reward_learner_dir", where, &r.reward_learner_dir));
  RETURN_IF_ERROR(TakeOptional(json, "reward_model_accuracy", where, &r.reward_model_accuracy));
  if (json.contains("cost_round")) {
    RETURN_IF_ERROR(Take(json, "cost_round", where, &r.cost_round));
    RETURN_IF_ERROR(Take(json, "cost_model_dir", where, &r.cost_model_dir));
    RETURN_IF_ERROR(Take(json, "cost_learner_dir", where, &r.cost_learner_dir));
  }
  return r;
}

}  // namespace

std::string LearnerCheckpointDir(const std::string& directory) {
  return absl::StrCat(directory, "/learner");
}

absl::Status WriteRunCheckpoint(const std::string& directory, const CoordinatorState& state,
                                const SaveLearner& save_learner) {
  std::error_code error;
  std::filesystem::create_directories(files::ParentDir(directory), error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create the folder of '", directory,
                                            "': ", error.message()));
  }
  ASSIGN_OR_RETURN(const std::string tmp, files::MakeTempSiblingDir(directory));
  absl::Status status = save_learner(LearnerCheckpointDir(tmp));
  if (status.ok()) {
    const std::string text = ToJson(state).dump(2) + "\n";
    const std::string path = absl::StrCat(tmp, "/", kStateFile);
    status = files::WriteFileAtomically(
        path, [&](int fd) { return files::WriteAll(fd, text.data(), text.size(), path); });
  }
  if (status.ok()) status = files::FsyncDir(tmp);
  if (status.ok()) status = files::MoveDirIntoPlace(tmp, directory, kStateFile);
  if (!status.ok()) std::filesystem::remove_all(tmp, error);
  return status;
}

absl::StatusOr<CoordinatorState> ReadRunCheckpoint(const std::string& directory) {
  const std::string path = absl::StrCat(directory, "/", kStateFile);
  absl::StatusOr<std::string> text = files::ReadFile(path);
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("'", directory, "' is not a Rein checkpoint: ",
                                            text.status().message()));
  }
  Json json = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, ": not JSON"));
  int format = 0;
  RETURN_IF_ERROR(Take(json, "format_version", path, &format));
  if (format != kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": format_version ", format,
                                                   " is not ", kFormatVersion));
  }
  CoordinatorState state;
  RETURN_IF_ERROR(Take(json, "iteration", path, &state.iteration));
  RETURN_IF_ERROR(Take(json, "dataset_cursor", path, &state.dataset_cursor));
  RETURN_IF_ERROR(Take(json, "kl_coef", path, &state.kl_coef));
  RETURN_IF_ERROR(Take(json, "learning_rate", path, &state.learning_rate));
  RETURN_IF_ERROR(Take(json, "policy_version", path, &state.policy_version));
  RETURN_IF_ERROR(Take(json, "seed", path, &state.seed));
  RETURN_IF_ERROR(Take(json, "mode", path, &state.mode));
  RETURN_IF_ERROR(TakeOptional(json, "safety_lambda", path, &state.safety_lambda));
  if (json.contains("rounds")) {
    ASSIGN_OR_RETURN(state.rounds, RoundsFromJson(json["rounds"], path));
  }
  return state;
}

absl::Status WriteFinalStatus(const std::string& run_dir, const rein::v1::RunStatus& status) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(status, &json, options).ok()) {
    return absl::InternalError("the run status does not convert to JSON");
  }
  const std::string path = absl::StrCat(run_dir, "/", kFinalStatusFile);
  return files::WriteFileAtomically(path, [&](int fd) -> absl::Status {
    return files::WriteAll(fd, json.data(), json.size(), path);
  });
}

}  // namespace rein::coordinator
