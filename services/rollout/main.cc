// rein-rollout: serves Rollout.Generate with the policy and takes new weights by LoadWeights.
//
//   rein-rollout --config run.yaml [--port 0] [--coordinator host:port] [--capacity N]
//                [--snapshot_root DIR[,DIR...]]
// Loads model.policy (LM head) as policy version 0. The KV cache holds `capacity` sequences of
// data.max_prompt_tokens + rollout.sampling.max_new_tokens positions (at most the model's
// context). Generate may also sample from earlier policies (GenerateRequest.policy_dir): the
// folder must be model.policy or lie under a --snapshot_root (default run.output_dir).
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/process/process_setup.h"
#include "common/status/annotate.h"
#include "common/status/status_macros.h"
#include "common/tokenizer/tokenizer.h"
#include "services/rollout/rollout_service.h"
#include "services/worker/token_sequences.h"
#include "services/worker/worker_model.h"
#include "services/worker/worker_runtime.h"

ABSL_FLAG(std::string, snapshot_root, "",
          "Comma-separated folders under which earlier policies may be loaded for Generate's "
          "policy_dir (a run's checkpoints); default run.output_dir.");

namespace rein::rollout {
namespace {

absl::Status RunRollout(rpc::ShutdownSignal& shutdown) {
  ASSIGN_OR_RETURN(worker::WorkerSetup setup, worker::LoadWorkerSetup("rollout"));
  const config::ExperimentConfig& c = setup.config;
  log::SetMinLevel(c.run.log_level);
  RETURN_IF_ERROR(worker::CheckModelDevice(c.model));
  const int capacity = setup.capacity_override > 0 ? setup.capacity_override : c.rollout.capacity;
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> policy,
                   worker::LoadWorkerModel(c.model, c.model.policy, model::Heads::kLm, "model.policy"));
  RETURN_IF_ERROR(worker::AddConfiguredLora(c.learner, c.run.seed, *policy));
  RolloutServiceOptions options;
  options.max_batch_size = capacity;
  options.max_sequences_per_call = worker::kRequestCapacityFactor * capacity;
  options.max_sequence_length =
      int64_t{c.data.max_prompt_tokens} + int64_t{c.rollout.sampling.max_new_tokens};
  // A chunk must fit in one gRPC message.
  options.assembler.max_chunk_bytes = c.server.max_message_bytes;
  // The snapshot roots first: a relative policy_dir is taken against the first root.
  const std::string roots = absl::GetFlag(FLAGS_snapshot_root);
  for (absl::string_view root : absl::StrSplit(roots.empty() ? c.run.output_dir : roots, ',',
                                               absl::SkipEmpty())) {
    options.snapshots.allowed_roots.emplace_back(root);
  }
  options.snapshots.allowed_roots.push_back(c.model.policy);
  // A padded embedding matrix must not let an id the tokenizer does not know be sampled.
  ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tokenizer,
                   Annotate(c.model.TokenizerKey(),
                            tokenizer::Tokenizer::FromDirectory(c.model.TokenizerPath())));
  options.sampleable_vocab_size = tokenizer->vocab_size();
  const config::ModelConfig model_config = c.model;
  options.snapshots.loader = [model_config](const std::string& dir) {
    return worker::LoadWorkerModel(model_config, dir, model::Heads::kLm, "Generate's policy_dir");
  };
  auto registry = std::make_shared<prometheus::Registry>();
  ASSIGN_OR_RETURN(std::unique_ptr<RolloutService> service,
                   RolloutService::Create(std::move(policy), options, *registry));
  REIN_LOG(INFO, "rollout") << "capacity " << capacity << ", sequences up to "
                            << service->max_sequence_length() << " tokens";
  return worker::ServeWorker(setup, rein::v1::ROLE_ROLLOUT, capacity,
                             {rpc::Bind<rein::v1::Rollout>(service.get())}, registry, shutdown);
}

}  // namespace
}  // namespace rein::rollout

int main(int argc, char** argv) {
  auto shutdown = rein::rpc::ShutdownSignal::Install();
  rein::ParseFlags(argc, argv,
                   "rein-rollout --config run.yaml [--port 0] [--coordinator host:port] [--capacity N]: samples responses from the policy");
  rein::InitProcess("rollout");
  absl::Status status = rein::rollout::RunRollout(*shutdown);
  if (!status.ok()) {
    REIN_LOG(ERROR, "main") << status;
    return 1;
  }
  return 0;
}
