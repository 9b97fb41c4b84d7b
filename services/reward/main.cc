// rein-reward: scores sequences with the reward model and the rule rewards of the config.
//
//   rein-reward --config run.yaml [--port 0] [--coordinator host:port] [--capacity N]
//               [--model_root DIR[,DIR...]]
// Loads model.reward_model (scalar head) when set; reward.model_weight weighs it and
// reward.rules add rule rewards. model.reward_model may be empty only if some rule has a
// weight. The tokenizer (model.tokenizer, else the policy's) is read when the regex rule is on
// or there is no reward model. Reload loads only model.reward_model, model.cost_model or a
// folder under a --model_root (default run.output_dir; reinctl up and the launchers pass the
// run folder, whose rounds/ hold each round's reward and cost models).
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/process/process_setup.h"
#include "common/status/annotate.h"
#include "common/status/status_macros.h"
#include "common/rpc/auth_roles.h"
#include "services/reward/reward_service.h"
#include "services/worker/token_sequences.h"
#include "services/worker/worker_model.h"
#include "services/worker/worker_runtime.h"

ABSL_FLAG(std::string, model_root, "",
          "Comma-separated folders under which Reload may load a model besides "
          "model.reward_model and model.cost_model (the run folder); default run.output_dir.");

namespace rein::reward {
namespace {

// What named the folder a model is loaded from, for its errors: the config, or a Reload.
std::string ModelKey(const config::ModelConfig& model, const std::string& dir) {
  if (dir == model.reward_model) return "model.reward_model";
  if (dir == model.cost_model) return "model.cost_model";
  return "Reload's model_dir";
}

absl::Status RunReward(rpc::ShutdownSignal& shutdown) {
  ASSIGN_OR_RETURN(worker::WorkerSetup setup, worker::LoadWorkerSetup("reward"));
  const config::ExperimentConfig& c = setup.config;
  log::SetMinLevel(c.run.log_level);
  RETURN_IF_ERROR(worker::CheckModelDevice(c.model));
  const int capacity = setup.capacity_override > 0 ? setup.capacity_override : c.reward.capacity;

  RewardServiceOptions options;
  options.model_weight = c.reward.model_weight;
  options.length_penalty_weight = c.reward.rules.length_penalty.weight;
  options.length_penalty_target_tokens = c.reward.rules.length_penalty.target_tokens;
  options.regex_weight = c.reward.rules.regex.weight;
  options.regex_pattern = c.reward.rules.regex.pattern;
  options.model_dir = c.model.reward_model;
  options.cost_model_dir = c.model.cost_model;
  options.await_reload = c.rounds.count > 0;
  const std::string roots = absl::GetFlag(FLAGS_model_root);
  for (absl::string_view root :
       absl::StrSplit(roots.empty() ? c.run.output_dir : roots, ',', absl::SkipEmpty())) {
    options.model_roots.emplace_back(root);
  }
  // The admin credential is the operator's (rpc/auth_roles.h): with auth off nobody is admin, and
  // reloads stay within the configured models and the roots.
  options.is_admin = [](const grpc::ServerContext& context) {
    return rpc::CallerRole(context) == rpc::AuthRoleName(rpc::AuthRole::kOperator);
  };
  options.max_sequences_per_call = worker::kRequestCapacityFactor * capacity;
  const config::ModelConfig model_config = c.model;
  options.loader = [model_config](const std::string& dir)
      -> absl::StatusOr<std::unique_ptr<RewardModel>> {
    ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> lm,
                     worker::LoadWorkerModel(model_config, dir, model::Heads::kScalar,
                                             ModelKey(model_config, dir)));
    return RewardModel::Create(std::move(lm));
  };
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  if (options.regex_weight != 0 || options.model_dir.empty()) {
    ASSIGN_OR_RETURN(tokenizer,
                     Annotate(c.model.TokenizerKey(),
                              tokenizer::Tokenizer::FromDirectory(c.model.TokenizerPath())));
  }
  auto registry = std::make_shared<prometheus::Registry>();
  ASSIGN_OR_RETURN(std::unique_ptr<RewardService> service,
                   RewardService::Create(options, std::move(tokenizer), *registry));
  return worker::ServeWorker(setup, rein::v1::ROLE_REWARD, capacity,
                             {rpc::Bind<rein::v1::Reward>(service.get())}, registry, shutdown);
}

}  // namespace
}  // namespace rein::reward

int main(int argc, char** argv) {
  auto shutdown = rein::rpc::ShutdownSignal::Install();
  rein::ParseFlags(argc, argv,
                   "rein-reward --config run.yaml [--port 0] [--coordinator host:port]: scores responses with the reward (and cost) model and rules");
  rein::InitProcess("reward");
  absl::Status status = rein::reward::RunReward(*shutdown);
  if (!status.ok()) {
    REIN_LOG(ERROR, "main") << status;
    return 1;
  }
  return 0;
}
