// A Rollout service that implements only LoadWeights: the receiving end of weight sync, for
// tests and benchmarks of the transfer path (the real rollout service adds Generate).
#ifndef REIN_COMMON_WEIGHTSYNC_WEIGHT_SINK_SERVICE_H_
#define REIN_COMMON_WEIGHTSYNC_WEIGHT_SINK_SERVICE_H_

#include "common/status/grpc_status.h"
#include "common/weightsync/weight_stream.h"

namespace rein::weightsync {

class WeightSinkService final : public rein::v1::Rollout::Service {
 public:
  explicit WeightSinkService(tensor::AssemblerOptions options = {}) : options_(options) {}

  grpc::Status LoadWeights(grpc::ServerContext* /*context*/,
                           grpc::ServerReader<rein::v1::TensorChunk>* reader,
                           rein::v1::LoadWeightsResponse* response) override {
    auto installed = ReceiveAndInstall(*reader, options_, weights_);
    if (!installed.ok()) return ToGrpcStatus(installed.status());
    *response = *std::move(installed);
    return grpc::Status::OK;
  }

  VersionedWeights& weights() { return weights_; }

 private:
  const tensor::AssemblerOptions options_;
  VersionedWeights weights_;
};

}  // namespace rein::weightsync

#endif  // REIN_COMMON_WEIGHTSYNC_WEIGHT_SINK_SERVICE_H_
