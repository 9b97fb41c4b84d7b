#include "services/learner/learner_service.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files/confined_path.h"
#include "common/log/log.h"
#include "common/rpc/caller_waits.h"
#include "common/rpc/request_limits.h"
#include "common/status/grpc_status.h"
#include "services/learner/checkpoint_io.h"
#include "services/learner/weight_push.h"

namespace rein::learner {
namespace {

// Examples in one Train call: the coordinator sends a rank its share of one iteration's batch
// (a few thousand sequences at most); a larger call is a client that would make the learner
// pack and run tensors without bound.
constexpr int64_t kMaxTrainExamples = 1 << 16;

int64_t ExamplesIn(const rein::v1::TrainRequest& request) {
  switch (request.batch_case()) {
    case rein::v1::TrainRequest::kExperiences:
      return request.experiences().experiences_size();
    case rein::v1::TrainRequest::kSft:
      return request.sft().examples_size();
    case rein::v1::TrainRequest::kPreferences:
      return request.preferences().preferences_size();
    case rein::v1::TrainRequest::kOfflinePreferences:
      return request.offline_preferences().examples_size();
    case rein::v1::TrainRequest::BATCH_NOT_SET:
      break;
  }
  return 0;
}

// The push's fan-out and every address, before any weight is touched.
absl::Status CheckPushTargets(const rein::v1::PushWeightsRequest& request) {
  absl::Status status =
      rpc::CheckCount("rollout_addresses", request.rollout_addresses_size(), rpc::kMaxPushTargets);
  for (int i = 0; status.ok() && i < request.rollout_addresses_size(); ++i) {
    status =
        rpc::CheckAddress(absl::StrCat("rollout_addresses[", i, "]"), request.rollout_addresses(i));
  }
  return status;
}

}  // namespace

grpc::Status LearnerService::Train(grpc::ServerContext* context,
                                   const rein::v1::TrainRequest* request,
                                   rein::v1::TrainResponse* response) {
  if (absl::Status checked = rpc::CheckCount("batch", ExamplesIn(*request), kMaxTrainExamples);
      !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  absl::StatusOr<rein::v1::TrainResponse> trained =
      learner_.Train(*request, rpc::CallerWaitsCheck(context));
  if (!trained.ok()) return ToGrpcStatus(trained.status());
  *response = *std::move(trained);
  return grpc::Status::OK;
}

namespace {

uint64_t TotalBytes(absl::Span<const tensor::NamedTensor> tensors) {
  uint64_t bytes = 0;
  for (const tensor::NamedTensor& named : tensors) bytes += named.second.nbytes();
  return bytes;
}

// The push deadline per replica: the configured one or one sized from the weights, cut so the
// learner answers a second before its own caller would give up (with the frozen replicas named).
absl::Duration PushDeadlineFor(absl::Duration configured, uint64_t bytes,
                               const grpc::ServerContext& context) {
  absl::Duration deadline = configured > absl::ZeroDuration() ? configured : PushDeadline(bytes);
  const absl::Time caller = absl::FromChrono(context.deadline());
  if (caller != absl::InfiniteFuture()) {
    deadline = std::min(deadline, caller - absl::Now() - absl::Seconds(1));
  }
  return std::max(deadline, absl::Milliseconds(100));
}

}  // namespace

grpc::Status LearnerService::PushWeights(grpc::ServerContext* context,
                                         const rein::v1::PushWeightsRequest* request,
                                         rein::v1::PushWeightsResponse* response) {
  if (absl::Status checked = CheckPushTargets(*request); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  const std::vector<std::string> addresses(request->rollout_addresses().begin(),
                                           request->rollout_addresses().end());
  weightsync::PushOptions push;
  push.split.chunk_bytes = options_.chunk_bytes;
  absl::Status status = learner_.WithWeights(
      [&](uint64_t version, absl::Span<const tensor::NamedTensor> tensors) -> absl::Status {
        push.deadline = PushDeadlineFor(options_.push_timeout, TotalBytes(tensors), *context);
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
  struct StreamSlot {
    std::atomic<int>& streams;
    ~StreamSlot() { streams.fetch_sub(1); }
  } slot{weight_streams_};
  if (weight_streams_.fetch_add(1) >= options_.max_weight_streams) {
    return ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat("GetWeights: ", options_.max_weight_streams,
                     " weight streams are already being served; try again later")));
  }
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
  if (absl::Status checked = rpc::CheckPath("directory", request->directory());
      !checked.ok()) {
    return ToGrpcStatus(checked);
  }
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
  if (absl::Status checked = rpc::CheckPath("directory", request->directory());
      !checked.ok()) {
    return ToGrpcStatus(checked);
  }
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
