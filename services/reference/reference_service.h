// The Reference gRPC service (proto/rein/v1/reference.proto): teacher-forced log-probs of each
// response token under the frozen reference model, for the KL penalty.
//
// Policy version: none; the reference model is the initial policy (model.ReferencePath()),
// loaded once and never changed, so equal requests always get equal answers.
//
// Validation: no sequences, an empty prompt or response, an id outside the vocabulary or a
// sequence past the model's context is INVALID_ARGUMENT naming the sequence.
//
// Ownership: owns the model. Thread safety: LogProbs calls may run concurrently (the model is
// only read).
#ifndef REIN_SERVICES_REFERENCE_REFERENCE_SERVICE_H_
#define REIN_SERVICES_REFERENCE_REFERENCE_SERVICE_H_

#include <functional>
#include <memory>

#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"
#include "common/model/scoring.h"
#include "rein/v1/reference.grpc.pb.h"

namespace rein::reference {

struct ReferenceServiceOptions {
  // Batching of the forward passes. Default: ScoringOptions' defaults.
  model::ScoringOptions scoring;
  // Most sequences per LogProbs call (RESOURCE_EXHAUSTED beyond); 0 = unlimited. Default: 0.
  int64_t max_sequences_per_call = 0;
};

class ReferenceService final : public rein::v1::Reference::Service {
 public:
  // Takes ownership of `model` (which must have an LM head). Metrics go to `registry`, which
  // must outlive the service.
  static absl::StatusOr<std::unique_ptr<ReferenceService>> Create(
      std::unique_ptr<model::CausalLM> model, const ReferenceServiceOptions& options,
      prometheus::Registry& registry);
  ~ReferenceService() override;
  ReferenceService(const ReferenceService&) = delete;
  ReferenceService& operator=(const ReferenceService&) = delete;

  grpc::Status LogProbs(grpc::ServerContext* context, const rein::v1::LogProbsRequest* request,
                        rein::v1::LogProbsResponse* response) override;

  // The handler without gRPC.
  // `keep_going` is asked between scoring batches.
  absl::StatusOr<rein::v1::LogProbsResponse> RunLogProbs(
      const rein::v1::LogProbsRequest& request,
      const std::function<absl::Status()>& keep_going = {}) const;

 private:
  struct Metrics;
  ReferenceService(std::unique_ptr<model::CausalLM> model, const ReferenceServiceOptions& options,
                   std::unique_ptr<Metrics> metrics);

  const std::unique_ptr<model::CausalLM> model_;
  const ReferenceServiceOptions options_;
  const std::unique_ptr<Metrics> metrics_;
};

}  // namespace rein::reference

#endif  // REIN_SERVICES_REFERENCE_REFERENCE_SERVICE_H_
