#include "services/learner/learner_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files/confined_path.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "services/learner/checkpoint_io.h"
#include "services/learner/weight_push.h"

namespace rein::learner {

grpc::Status LearnerService::Train(grpc::ServerContext* /*context*/,
                                   const rein::v1::TrainRequest* request,
                                   rein::v1::TrainResponse* response) {
  absl::StatusOr<rein::v1::TrainResponse> trained = learner_.Train(*request);
  if (!trained.ok()) return ToGrpcStatus(trained.status());
  *response = *std::move(trained);
  return grpc::Status::OK;
}

grpc::Status LearnerService::PushWeights(grpc::ServerContext* /*context*/,
                                         const rein::v1::PushWeightsRequest* request,
                                         rein::v1::PushWeightsResponse* response) {
  const std::vector<std::string> addresses(request->rollout_addresses().begin(),
                                           request->rollout_addresses().end());
  weightsync::PushOptions push;
  push.split.chunk_bytes = options_.chunk_bytes;
  absl::Status status = learner_.WithWeights(
      [&](uint64_t version, absl::Span<const tensor::NamedTensor> tensors) -> absl::Status {
        absl::StatusOr<PushSummary> pushed =
            PushToReplicas(addresses, options_.client, version, tensors, push);
        if (!pushed.ok()) return pushed.status();
        response->set_policy_version(version);
        response->set_push_seconds(pushed->seconds);
        response->set_total_bytes(pushed->total_bytes);
        learner_.metrics().weight_push_seconds.Observe(pushed->seconds);
        learner_.metrics().weight_push_bytes.Increment(static_cast<double>(pushed->total_bytes));
        REIN_LOG(INFO, "learner") << "pushed policy version " << version << " to "
                                  << addresses.size() << " replicas: " << pushed->total_bytes
                                  << " bytes in " << pushed->seconds << " s";
        return absl::OkStatus();
      });
  return ToGrpcStatus(status);
}

grpc::Status LearnerService::GetWeights(grpc::ServerContext* /*context*/,
                                        const rein::v1::GetWeightsRequest* request,
                                        grpc::ServerWriter<rein::v1::TensorChunk>* writer) {
  tensor::SplitOptions split;
  split.chunk_bytes = options_.chunk_bytes;
  if (request->chunk_bytes() > 0) {
    if (request->chunk_bytes() > static_cast<uint64_t>(options_.max_chunk_bytes)) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("chunk_bytes: ", request->chunk_bytes(), " is above the limit of ",
                       options_.max_chunk_bytes)));
    }
    split.chunk_bytes = static_cast<int64_t>(request->chunk_bytes());
  }
  absl::Status status = learner_.WithWeights(
      [&](uint64_t version, absl::Span<const tensor::NamedTensor> tensors) {
        return tensor::SplitTensorSet(
            version, tensors, split, [&](const rein::v1::TensorChunk& chunk) -> absl::Status {
              if (!writer->Write(chunk)) {
                return absl::CancelledError("GetWeights: the caller stopped reading");
              }
              return absl::OkStatus();
            });
      });
  return ToGrpcStatus(status);
}

grpc::Status LearnerService::SaveCheckpoint(grpc::ServerContext* /*context*/,
                                            const rein::v1::SaveCheckpointRequest* request,
                                            rein::v1::SaveCheckpointResponse* response) {
  absl::StatusOr<std::string> directory = files::ResolveReplaceableDir(
      "directory", request->directory(), options_.checkpoint_roots, kLearnerCheckpointMarker);
  if (!directory.ok()) return ToGrpcStatus(directory.status());
  absl::StatusOr<uint64_t> step = learner_.SaveCheckpoint(*directory);
  if (!step.ok()) return ToGrpcStatus(step.status());
  response->set_directory(*directory);
  response->set_step(*step);
  return grpc::Status::OK;
}

grpc::Status LearnerService::Restore(grpc::ServerContext* context,
                                     const rein::v1::RestoreRequest* request,
                                     rein::v1::RestoreResponse* response) {
  std::vector<std::string> roots = options_.checkpoint_roots;
  // An admin may restore from anywhere: the whole file system becomes the last root (relative
  // folders still start at the first, and the other refusals still apply).
  if (options_.is_admin && options_.is_admin(*context)) roots.push_back("/");
  absl::StatusOr<std::string> directory =
      files::ResolveReadableDir("directory", request->directory(), roots);
  if (!directory.ok()) return ToGrpcStatus(directory.status());
  absl::StatusOr<Learner::Restored> restored = learner_.Restore(*directory);
  if (!restored.ok()) return ToGrpcStatus(restored.status());
  response->set_step(restored->step);
  response->set_policy_version(restored->policy_version);
  return grpc::Status::OK;
}

}  // namespace rein::learner
