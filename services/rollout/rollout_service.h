// The Rollout gRPC service (proto/rein/v1/rollout.proto): samples completions from the policy
// loaded now, and takes new policy weights from the learner's chunked weight stream.
//
// Earlier policies: a Generate with policy_dir samples from that folder's policy instead
// (policy_snapshots.h), loaded once and cached, never touching the current weights.
//
// Policy version: the replica starts at version 0 (the checkpoint it loaded) and speaks for
// exactly one version at a time. Generate holds the weights shared for its whole run and reports
// the version it ran with; LoadWeights receives and checks the whole stream without blocking
// Generate, then swaps the weights in under the exclusive lock, i.e. between Generate calls. A
// failed or stale (not newer) stream leaves the current weights and version in place.
//
// Validation: a malformed request (no prompts, an empty prompt, an id outside the vocabulary,
// samples_per_prompt 0, max_new_tokens <= 0 or past the sequence limit, a bad temperature, top_k
// or top_p) is INVALID_ARGUMENT naming the field and prompt; the service keeps serving.
//
// Ownership: owns the policy model and its Generator. Thread safety: the gRPC handlers may run
// concurrently; generations are serialised by the Generator, weight swaps exclude them.
#ifndef REIN_SERVICES_ROLLOUT_ROLLOUT_SERVICE_H_
#define REIN_SERVICES_ROLLOUT_ROLLOUT_SERVICE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/model/causal_lm.h"
#include "common/model/generator.h"
#include "common/tensor/chunking.h"
#include "rein/v1/rollout.grpc.pb.h"
#include "services/rollout/policy_snapshots.h"

namespace rein::rollout {

struct RolloutServiceOptions {
  // Sequences decoded together (the KV cache's slots); the replica's capacity. Default: 32.
  int64_t max_batch_size = 32;
  // Longest prompt + max_new_tokens a request may ask for. Default (0): the model's
  // max_position_embeddings. The KV cache holds max_batch_size x this many positions.
  int64_t max_sequence_length = 0;
  // Ids the tokenizer knows (a checkpoint may pad its vocabulary past them); no other id is
  // ever sampled. Default (0): the model's whole vocabulary.
  int64_t sampleable_vocab_size = 0;
  // Most prompts x samples_per_prompt per Generate call (RESOURCE_EXHAUSTED beyond); 0 =
  // unlimited. Default: 0.
  int64_t max_sequences_per_call = 0;
  // Limits on the incoming weight stream. Default: AssemblerOptions' defaults.
  tensor::AssemblerOptions assembler;
  // Earlier policies Generate may sample from (GenerateRequest.policy_dir); the generator
  // options and vocabulary are the replica's own. Default: none allowed.
  SnapshotOptions snapshots;
};

class RolloutService final : public rein::v1::Rollout::Service {
 public:
  // Takes ownership of `policy` (which must have an LM head) as policy version 0. Metrics go to
  // `registry`, which must outlive the service. INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<RolloutService>> Create(
      std::unique_ptr<model::CausalLM> policy, const RolloutServiceOptions& options,
      prometheus::Registry& registry);
  ~RolloutService() override;
  RolloutService(const RolloutService&) = delete;
  RolloutService& operator=(const RolloutService&) = delete;

  grpc::Status Generate(grpc::ServerContext* context, const rein::v1::GenerateRequest* request,
                        rein::v1::GenerateResponse* response) override;
  grpc::Status LoadWeights(grpc::ServerContext* context,
                           grpc::ServerReader<rein::v1::TensorChunk>* reader,
                           rein::v1::LoadWeightsResponse* response) override;

  // What the handlers do, without gRPC (also the seams the unit tests drive).
  // `keep_going` is asked between decode steps (see model::GenerateOptions).
  absl::StatusOr<rein::v1::GenerateResponse> RunGenerate(
      const rein::v1::GenerateRequest& request, const std::function<absl::Status()>& keep_going = {});
  // Checks `set` against the policy and makes it current; FAILED_PRECONDITION if its version is
  // not newer than the current one.
  absl::StatusOr<rein::v1::LoadWeightsResponse> Install(tensor::TensorSet set);

  uint64_t policy_version() const;
  int64_t max_sequence_length() const { return max_sequence_length_; }

 private:
  struct Metrics;
  RolloutService(SnapshotOptions snapshots, std::unique_ptr<model::CausalLM> policy,
                 std::unique_ptr<model::Generator> generator,
                 const RolloutServiceOptions& options, int64_t max_sequence_length,
                 std::unique_ptr<Metrics> metrics);
  absl::Status Validate(const rein::v1::GenerateRequest& request) const;

  const std::unique_ptr<model::CausalLM> policy_;
  const std::unique_ptr<model::Generator> generator_;
  const RolloutServiceOptions options_;
  const int64_t max_sequence_length_;
  const std::unique_ptr<Metrics> metrics_;
  PolicySnapshots snapshots_;

  // Shared by each generation, exclusive while weights are written into policy_.
  mutable absl::Mutex weights_mu_;
  uint64_t version_ ABSL_GUARDED_BY(weights_mu_) = 0;
  // Set when a copy into the model failed halfway; cleared by the next complete install.
  bool weights_broken_ ABSL_GUARDED_BY(weights_mu_) = false;
};

}  // namespace rein::rollout

#endif  // REIN_SERVICES_ROLLOUT_ROLLOUT_SERVICE_H_
