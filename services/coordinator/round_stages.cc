#include "services/coordinator/round_stages.h"

#include "rein/v1/learner.grpc.pb.h"
#include "rein/v1/reward.grpc.pb.h"
#include "services/coordinator/stage_calls.h"

namespace rein::coordinator {
namespace {

absl::StatusOr<Worker> ModelLearner(const StageContext& context, rein::v1::Role role) {
  std::vector<Worker> workers = context.registry->Active(role);
  if (workers.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "no active ", rein::v1::Role_Name(role), " (rein-learner ",
        role == rein::v1::ROLE_COST_LEARNER ? "--cost_model_learner" : "--reward_model_learner",
        ") is registered"));
  }
  return workers.front();
}

}  // namespace

absl::StatusOr<rein::v1::TrainResponse> TrainModelLearnerStage(
    const StageContext& context, rein::v1::Role role, const rein::v1::TrainRequest& request) {
  ASSIGN_OR_RETURN(Worker worker, ModelLearner(context, role));
  rein::v1::TrainResponse response;
  RETURN_IF_ERROR(CallWorker<rein::v1::Learner>(
      context, worker, "Learner/Train", &rein::v1::Learner::Stub::Train, request, &response));
  return response;
}

absl::Status SaveModelLearnerStage(const StageContext& context, rein::v1::Role role,
                                   const std::string& directory) {
  ASSIGN_OR_RETURN(Worker worker, ModelLearner(context, role));
  rein::v1::SaveCheckpointRequest request;
  request.set_directory(directory);
  rein::v1::SaveCheckpointResponse response;
  return CallWorker<rein::v1::Learner>(context, worker, "Learner/SaveCheckpoint",
                                       &rein::v1::Learner::Stub::SaveCheckpoint, request,
                                       &response);
}

absl::StatusOr<rein::v1::RestoreResponse> RestoreModelLearnerStage(const StageContext& context,
                                                                   rein::v1::Role role,
                                                                   const std::string& directory) {
  ASSIGN_OR_RETURN(Worker worker, ModelLearner(context, role));
  rein::v1::RestoreRequest request;
  request.set_directory(directory);
  rein::v1::RestoreResponse response;
  RETURN_IF_ERROR(CallWorker<rein::v1::Learner>(
      context, worker, "Learner/Restore", &rein::v1::Learner::Stub::Restore, request, &response));
  return response;
}

absl::StatusOr<std::string> ReloadRewardStage(const StageContext& context,
                                              const std::string& model_dir, uint64_t version,
                                              bool cost) {
  std::vector<Worker> replicas = context.registry->Active(rein::v1::ROLE_REWARD);
  if (replicas.empty()) return absl::UnavailableError("no active reward replica to reload");
  std::string fingerprint;
  for (const Worker& replica : replicas) {
    constexpr absl::string_view kMethod = "Reward/Reload";
    rein::v1::ReloadRequest request;
    request.set_model_dir(model_dir);
    request.set_version(version);
    request.set_cost_model(cost);
    rein::v1::ReloadResponse response;
    RETURN_IF_ERROR(CallWorker<rein::v1::Reward>(
        context, replica, kMethod, &rein::v1::Reward::Stub::Reload, request, &response));
    if (response.version() != version) {
      return Malformed(kMethod, replica,
                       absl::StrCat("version ", response.version(), " instead of ", version));
    }
    if (!fingerprint.empty() && response.model_fingerprint() != fingerprint) {
      return Malformed(kMethod, replica, "another model fingerprint than the other replicas'");
    }
    fingerprint = response.model_fingerprint();
  }
  return fingerprint;
}

}  // namespace rein::coordinator
