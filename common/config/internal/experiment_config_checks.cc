// Rules that span fields. Single-field rules (ranges, positivity) live with the field's
// declaration in experiment_config_schema.cc; these run only when every field parsed.
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/config/internal/experiment_config_schema.h"

namespace rein::config::internal {
namespace {

// Reports `problem` against the first of `keys` written in the document (its line), or against
// the first key without a line when all of them hold defaults.
class CrossChecker {
 public:
  CrossChecker(const KeyLines& lines, Diagnostics* diagnostics)
      : lines_(lines), diagnostics_(diagnostics) {}

  void Require(bool ok, std::initializer_list<absl::string_view> keys, absl::string_view problem) {
    if (ok) return;
    absl::string_view blamed = *keys.begin();
    int line = 0;
    for (absl::string_view key : keys) {
      if (int written = lines_.LineOf(key); written > 0) {
        blamed = key;
        line = written;
        break;
      }
    }
    diagnostics_->Add(line, absl::StrCat(blamed, ": ", problem));
  }

 private:
  const KeyLines& lines_;
  Diagnostics* diagnostics_;
};

void CheckTls(const TlsConfig& tls, CrossChecker& check) {
  check.Require(tls.key.empty() || !tls.cert.empty(), {"server.tls.key", "server.tls.cert"},
                "server.tls.key is set but server.tls.cert is empty; TLS needs both");
  check.Require(tls.cert.empty() || !tls.key.empty(), {"server.tls.cert", "server.tls.key"},
                "server.tls.cert is set but server.tls.key is empty; TLS needs both");
  check.Require(tls.client_ca.empty() || !tls.cert.empty(),
                {"server.tls.client_ca", "server.tls.cert"},
                "server.tls.client_ca needs server.tls.cert: clients are verified only over TLS");
  check.Require(!tls.require_client_cert || !tls.client_ca.empty(),
                {"server.tls.require_client_cert", "server.tls.client_ca"},
                "server.tls.require_client_cert needs server.tls.client_ca to verify clients "
                "against");
}

void CheckAuth(const ServerConfig& server, CrossChecker& check) {
  const AuthConfig& auth = server.auth;
  check.Require(!auth.enabled() || server.auth_token_file.empty(),
                {"server.auth_token_file", "server.auth.worker_token_file",
                 "server.auth.operator_token_file", "server.auth.monitor_token_file"},
                "server.auth_token_file (one token for every role) and server.auth (a token per "
                "role) exclude each other; choose one");
  check.Require(!auth.enabled() || !auth.worker_token_file.empty(),
                {"server.auth.worker_token_file", "server.auth.operator_token_file",
                 "server.auth.monitor_token_file"},
                "server.auth needs worker_token_file: workers present it on every call");
  check.Require(!auth.enabled() || !auth.operator_token_file.empty(),
                {"server.auth.operator_token_file", "server.auth.worker_token_file",
                 "server.auth.monitor_token_file"},
                "server.auth needs operator_token_file: the coordinator and reinctl present it");
}

void CheckRl(const ExperimentConfig& c, CrossChecker& check) {
  if (!IsReinforcementLearning(c.learner.mode)) return;
  const LearnerMode mode = c.learner.mode;
  const bool group_baseline = mode == LearnerMode::kGrpo || mode == LearnerMode::kRloo;
  check.Require(!group_baseline || c.rollout.samples_per_prompt >= 2,
                {"rollout.samples_per_prompt", "learner.mode"},
                absl::StrCat("learner.mode ", EnumName(mode),
                             " compares responses to the same prompt, so needs "
                             "rollout.samples_per_prompt >= 2"));
  // Every rank must get the same number of sequences in every minibatch, or the all-reduce
  // would average unequal batches (or wait forever for a rank with nothing to do).
  const int64_t sequences = int64_t{c.rollout.batch_size} * int64_t{c.rollout.samples_per_prompt};
  const int64_t shards = int64_t{c.ppo.minibatches} * int64_t{c.learner.ranks};
  check.Require(
      sequences % shards == 0,
      {"ppo.minibatches", "learner.ranks", "rollout.batch_size", "rollout.samples_per_prompt"},
      absl::StrCat("rollout.batch_size * rollout.samples_per_prompt (", sequences,
                   ") must divide evenly into ppo.minibatches * learner.ranks (", shards, ")"));
}

void CheckRounds(const ExperimentConfig& c, const KeyLines& lines, CrossChecker& check) {
  const RoundsConfig& r = c.rounds;
  if (r.count == 0) return;
  check.Require(IsReinforcementLearning(c.learner.mode) || IsOfflinePreference(c.learner.mode),
                {"rounds.count", "learner.mode"},
                "rounds need an RL learner.mode (ppo, grpo, rloo, reinforce++) or an offline "
                "preference one (dpo, ipo, kto)");
  check.Require(r.cost_model.steps == 0 || IsReinforcementLearning(c.learner.mode),
                {"rounds.cost_model.steps", "learner.mode"},
                "rounds.cost_model feeds PPO's cost: it needs an RL learner.mode");
  check.Require(lines.LineOf("run.iterations") == 0 ||
                    c.run.iterations == int64_t{r.count} * int64_t{r.iterations},
                {"run.iterations", "rounds.iterations"},
                absl::StrCat("with rounds, run.iterations is rounds.count × rounds.iterations (",
                             int64_t{r.count} * int64_t{r.iterations}, "); leave it out"));
  check.Require(c.learner.critic_init != CriticInit::kRewardModel ||
                    !c.model.reward_model.empty() || c.learner.mode != LearnerMode::kPpo,
                {"learner.critic_init", "model.reward_model"},
                "with rounds and no model.reward_model there is no reward model to start the "
                "critic from before round 1 trains one: set learner.critic_init policy");
  check.Require(r.judgements <= int64_t{r.prompts_per_round} * int64_t{r.overlap},
                {"rounds.judgements", "rounds.prompts_per_round", "rounds.overlap"},
                "rounds.judgements is more than prompts_per_round × overlap can ever give");
  check.Require(r.cost_model.steps == 0 || (!c.eval.red_team.empty() && c.eval.campaign),
                {"rounds.cost_model.steps", "eval.red_team", "eval.campaign"},
                "rounds.cost_model trains on the flags of the red-team campaigns: set "
                "eval.red_team (and leave eval.campaign on)");
  check.Require(!c.feedback.admin_token_file.empty() || !c.server.auth_token_file.empty() ||
                    !c.server.auth.operator_token_file.empty(),
                {"feedback.admin_token_file", "server.auth_token_file", "rounds.count"},
                "rounds need feedback.admin_token_file (or server.auth_token_file, or "
                "server.auth.operator_token_file): the "
                "coordinator manages each round's campaign with the admin token");
}

}  // namespace

void CheckExperimentConfig(const ExperimentConfig& c, const KeyLines& lines,
                           Diagnostics* diagnostics) {
  CrossChecker check(lines, diagnostics);
  check.Require(c.run.mode != RunMode::kAsync || c.run.max_policy_lag >= 1,
                {"run.max_policy_lag", "run.mode"},
                "async mode needs run.max_policy_lag >= 1 (0 would drop every sample)");
  check.Require(!(c.learner.backend == CollectiveBackend::kNccl && c.model.device == Device::kCpu),
                {"learner.backend", "model.device"},
                "learner.backend nccl needs model.device cuda; use gloo or auto on CPU");
  check.Require(c.model.device == Device::kCuda || c.model.dtype != DType::kF16,
                {"model.dtype", "model.device"},
                "model.dtype f16 is not supported on CPU; use f32 or bf16");
  check.Require(c.reward.rules.regex.weight == 0.0 || !c.reward.rules.regex.pattern.empty(),
                {"reward.rules.regex.weight", "reward.rules.regex.pattern"},
                "reward.rules.regex.weight is set but reward.rules.regex.pattern is empty");
  CheckRl(c, check);
  const std::set<std::string> lora_targets(c.learner.lora.target_modules.begin(),
                                           c.learner.lora.target_modules.end());
  check.Require(
      c.learner.lora.rank == 0 ||
          (!lora_targets.empty() && lora_targets.size() == c.learner.lora.target_modules.size()),
      {"learner.lora.target_modules", "learner.lora.rank"},
      "learner.lora.target_modules must name at least one projection, each once");
  check.Require(c.safety.mode == SafetyMode::kOff ||
                    (!c.model.cost_model.empty() && IsReinforcementLearning(c.learner.mode)),
                {"safety.mode", "model.cost_model", "learner.mode"},
                "safety.mode penalty or constraint needs model.cost_model and an RL learner.mode");
  check.Require(c.safety.mode != SafetyMode::kConstraint || c.safety.lambda_max == 0 ||
                    c.safety.lambda_init <= c.safety.lambda_max,
                {"safety.lambda_init", "safety.lambda_max"},
                "safety.lambda_init must not exceed safety.lambda_max");
  check.Require(c.safety.lambda_init <= 1e6 && c.safety.lambda_max <= 1e6,
                {"safety.lambda_init", "safety.lambda_max"},
                "safety.lambda_init and safety.lambda_max: at most 1e6 (the shaped reward must "
                "stay finite)");
  CheckRounds(c, lines, check);
  check.Require((c.data.eval_prompts.empty() && c.eval.red_team.empty()) ||
                    IsReinforcementLearning(c.learner.mode),
                {"data.eval_prompts", "eval.red_team", "learner.mode"},
                "evaluation samples responses: data.eval_prompts and eval.red_team need an RL "
                "learner.mode");
  check.Require(!(c.rounds.count > 0 && !c.eval.red_team.empty() && c.eval.campaign) ||
                    c.eval.samples >= 2,
                {"eval.samples", "eval.campaign"},
                "a red-team campaign item holds two responses: set eval.samples >= 2 (or "
                "eval.campaign false)");
  CheckTls(c.server.tls, check);
  CheckAuth(c.server, check);
}

}  // namespace rein::config::internal
