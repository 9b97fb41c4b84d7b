// rein.v1.Learner over a Learner: validates the folders of SaveCheckpoint and Restore (confined
// to the checkpoint roots, see common/files/confined_path.h) and nothing else (the Learner
// does), converts errors once with ToGrpcStatus, and pushes / streams weights with the version
// they belong to.
//
// Ownership: the Learner is not owned and must outlive the service. Thread safety: gRPC may
// call every method concurrently; the Learner serialises what must be.
#ifndef REIN_SERVICES_LEARNER_LEARNER_SERVICE_H_
#define REIN_SERVICES_LEARNER_LEARNER_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/rpc/options.h"
#include "rein/v1/learner.grpc.pb.h"
#include "services/learner/learner.h"

namespace rein::learner {

struct LearnerServiceOptions {
  // For the calls PushWeights makes to rollout replicas (TLS, token, deadlines).
  rpc::ClientOptions client;
  // Chunk size of pushes and of GetWeights when the caller names none. Default 4 MiB.
  int64_t chunk_bytes = int64_t{4} << 20;
  // Largest chunk a GetWeights caller may ask for. Default 16 MiB (what a receiver's
  // ChunkAssembler accepts by default).
  int64_t max_chunk_bytes = int64_t{16} << 20;
  // Deadline of a push to each replica; zero sizes it from the weights (PushDeadline in
  // weight_push.h). Either way capped by the PushWeights caller's own deadline, so a frozen
  // replica fails its push in time for the caller to take it out of the run. Default: zero.
  absl::Duration push_timeout = absl::ZeroDuration();
  // GetWeights streams served at once; more are RESOURCE_EXHAUSTED. Each holds a copy of one
  // policy version in host memory until it ends, so this bounds that memory. Default 4.
  int max_weight_streams = 4;
  // Folders SaveCheckpoint may write under and Restore may read from (relative paths are taken
  // against the first): the run folder, where the coordinator's checkpoints and each round's
  // model learners live. SaveCheckpoint replaces an existing folder only when it is a learner
  // checkpoint. Empty = both are refused (PERMISSION_DENIED).
  std::vector<std::string> checkpoint_roots;
  // Whether the caller holds the admin credential, which lets Restore read a checkpoint from
  // anywhere (never SaveCheckpoint write outside the roots). Unset = nobody is admin.
  std::function<bool(const grpc::ServerContext&)> is_admin;
};

class LearnerService final : public rein::v1::Learner::Service {
 public:
  LearnerService(Learner& learner, LearnerServiceOptions options)
      : learner_(learner), options_(std::move(options)) {}

  grpc::Status Train(grpc::ServerContext* context, const rein::v1::TrainRequest* request,
                     rein::v1::TrainResponse* response) override;
  grpc::Status PushWeights(grpc::ServerContext* context,
                           const rein::v1::PushWeightsRequest* request,
                           rein::v1::PushWeightsResponse* response) override;
  grpc::Status GetWeights(grpc::ServerContext* context, const rein::v1::GetWeightsRequest* request,
                          grpc::ServerWriter<rein::v1::TensorChunk>* writer) override;
  grpc::Status SaveCheckpoint(grpc::ServerContext* context,
                              const rein::v1::SaveCheckpointRequest* request,
                              rein::v1::SaveCheckpointResponse* response) override;
  grpc::Status Restore(grpc::ServerContext* context, const rein::v1::RestoreRequest* request,
                       rein::v1::RestoreResponse* response) override;

 private:
  Learner& learner_;
  const LearnerServiceOptions options_;
  std::atomic<int> weight_streams_{0};  // GetWeights calls now streaming
};

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_LEARNER_SERVICE_H_
