// rein-coordinator: serves the run's control plane and schedules its iterations.
//
//   rein-coordinator --config run.yaml [--port 0] [--start] [--exit_when_done]
// Workers register themselves; with --start the run begins as soon as the configured numbers
// of workers have registered (otherwise on `reinctl start`).
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/config/experiment_config.h"
#include "common/data/prompt_dataset.h"
#include "common/log/log.h"
#include "common/process/process_setup.h"
#include "common/rpc/config_options.h"
#include "common/rpc/serve.h"
#include "common/status/status_macros.h"
#include "common/tokenizer/tokenizer.h"
#include "services/coordinator/coordinator_service.h"

ABSL_FLAG(std::string, config, "", "Experiment config file (YAML). Required.");
ABSL_FLAG(int, port, 0, "gRPC port; 0 picks a free one (announced on stdout).");
ABSL_FLAG(bool, start, false, "Start the run at once; it waits for its workers to register.");
ABSL_FLAG(bool, exit_when_done, false, "Exit when the run has finished or failed.");

namespace rein::coordinator {
namespace {

data::PromptFormat ToDataFormat(config::PromptFormat format) {
  switch (format) {
    case config::PromptFormat::kText: return data::PromptFormat::kText;
    case config::PromptFormat::kChat: return data::PromptFormat::kChat;
    case config::PromptFormat::kAuto: return data::PromptFormat::kAuto;
  }
  return data::PromptFormat::kAuto;
}

RunLoopOptions LoopOptions(const config::ExperimentConfig& c) {
  RunLoopOptions options;
  options.batch_size = static_cast<uint32_t>(c.rollout.batch_size);
  options.samples_per_prompt = static_cast<uint32_t>(c.rollout.samples_per_prompt);
  options.seed = c.run.seed;
  options.call_timeout = c.server.call_timeout;
  rein::v1::SamplingParams& sampling = options.sampling;
  sampling.set_temperature(static_cast<float>(c.rollout.sampling.temperature));
  sampling.set_top_k(c.rollout.sampling.top_k);
  sampling.set_top_p(static_cast<float>(c.rollout.sampling.top_p));
  sampling.set_max_new_tokens(c.rollout.sampling.max_new_tokens);
  sampling.mutable_stop_token_ids()->Add(c.rollout.sampling.stop_token_ids.begin(),
                                         c.rollout.sampling.stop_token_ids.end());
  options.expected_workers = {{rein::v1::ROLE_ROLLOUT, c.rollout.replicas},
                              {rein::v1::ROLE_REWARD, c.reward.replicas},
                              {rein::v1::ROLE_REFERENCE, c.reference.replicas},
                              {rein::v1::ROLE_LEARNER, c.learner.ranks}};
  return options;
}

absl::Status RunCoordinator(rpc::ShutdownSignal& shutdown) {
  ASSIGN_OR_RETURN(config::ExperimentConfig c,
                   config::LoadExperimentConfig(absl::GetFlag(FLAGS_config)));
  log::SetMinLevel(c.run.log_level);
  ASSIGN_OR_RETURN(auto tokenizer, tokenizer::Tokenizer::FromDirectory(c.model.TokenizerPath()));
  data::PromptDatasetOptions dataset_options;
  dataset_options.format = ToDataFormat(c.data.prompt_format);
  dataset_options.max_prompt_tokens = c.data.max_prompt_tokens;
  ASSIGN_OR_RETURN(auto prompts, data::PromptDataset::Load(c.data.prompts, *tokenizer,
                                                           dataset_options));
  REIN_LOG(INFO, "coordinator") << prompts->size() << " prompts (" << prompts->skipped()
                                << " skipped as too long) from " << c.data.prompts;

  rpc::ServeOptions serve;
  serve.name = "rein-coordinator";
  ASSIGN_OR_RETURN(serve.server, rpc::ServerOptionsFromConfig(c.server));
  serve.server.port = absl::GetFlag(FLAGS_port);
  serve.metrics.host = c.server.host;
  serve.metrics.port = c.server.metrics_port;
  ASSIGN_OR_RETURN(rpc::ClientOptions client, rpc::ClientOptionsFromConfig(c.server));

  auto metrics = std::make_shared<prometheus::Registry>();
  WorkerRegistry registry;
  WorkerClients clients(client);
  KvStore store;
  rein::v1::HyperParameters initial;
  initial.set_kl_coef(c.ppo.kl_coef);
  initial.set_learning_rate(c.learner.learning_rate);
  RunState run(static_cast<uint64_t>(c.run.iterations), 1, initial);
  RunLoop loop(LoopOptions(c), StageContext{&registry, &clients, c.server.call_timeout}, *prompts,
               run, *metrics);
  absl::Status outcome;
  absl::Mutex outcome_mu;
  CoordinatorService service(registry, store, run, loop, [&](const absl::Status& status) {
    {
      absl::MutexLock lock(&outcome_mu);
      outcome = status;
    }
    if (absl::GetFlag(FLAGS_exit_when_done)) shutdown.RequestShutdown();
  });
  RETURN_IF_ERROR(rpc::Serve(serve, {rpc::Bind<rein::v1::Coordinator>(&service)}, metrics,
                             shutdown, [&](const rpc::Server&) {
                               if (absl::GetFlag(FLAGS_start)) service.StartRun();
                               return absl::OkStatus();
                             }));
  run.Stop();
  absl::MutexLock lock(&outcome_mu);
  return outcome;
}

}  // namespace
}  // namespace rein::coordinator

int main(int argc, char** argv) {
  auto shutdown = rein::rpc::ShutdownSignal::Install();
  absl::ParseCommandLine(argc, argv);
  rein::InitProcess("coordinator");
  if (absl::GetFlag(FLAGS_config).empty()) {
    REIN_LOG(ERROR, "main") << "--config is required";
    return 2;
  }
  absl::Status status = rein::coordinator::RunCoordinator(*shutdown);
  if (!status.ok()) {
    REIN_LOG(ERROR, "main") << status;
    return 1;
  }
  return 0;
}
