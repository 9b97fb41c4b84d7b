// The experiment config: one YAML file that describes a whole RLHF run, parsed into the plain
// structs below. Every field's default is its initialiser here; its documentation is the doc
// string next to its one declaration in experiment_config_schema.cc, and DefaultConfigYaml()
// prints both together. deploy/config/example.yaml is a worked example.
//
// Parsing is strict: an unknown key, a repeated key, a value of the wrong kind or out of range,
// and a contradiction between fields (tls.key without tls.cert, ...) are all errors. All of them
// are reported at once, one per line, each as "FILE:LINE: key.path: problem".
//
// Which process reads which section: every process reads `run` and `server`; the coordinator
// reads everything; a rollout replica reads `model` and `rollout`; reward replicas `reward`;
// reference replicas `reference`; learner ranks `learner` and `ppo`.
#ifndef REIN_COMMON_CONFIG_EXPERIMENT_CONFIG_H_
#define REIN_COMMON_CONFIG_EXPERIMENT_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config/config_enums.h"

namespace rein::config {

struct RunConfig {
  std::string name = "rein-run";
  std::string output_dir = "runs";
  uint64_t seed = 42;
  int64_t iterations = 1000;
  RunMode mode = RunMode::kSync;
  int32_t max_policy_lag = 1;      // policy versions; async mode only
  int32_t checkpoint_every = 100;  // iterations; 0 = only at the end
  log::Level log_level = log::Level::kInfo;
  bool operator==(const RunConfig&) const = default;
};

struct DataConfig {
  std::string prompts;
  PromptFormat prompt_format = PromptFormat::kAuto;
  std::string eval_prompts;
  int32_t max_prompt_tokens = 1024;
  std::string train;  // sft / reward-model examples
  int32_t train_batch_size = 32;
  int32_t max_response_tokens = 1024;
  bool operator==(const DataConfig&) const = default;
};

struct ModelConfig {
  std::string policy;
  std::string reference;  // empty = policy
  std::string reward_model;
  std::string cost_model;  // empty = none
  std::string tokenizer;  // empty = policy
  DType dtype = DType::kAuto;
  Device device = Device::kCpu;
  // Most bytes one model's weights may take (checked from config.json before any is loaded);
  // 0 = three quarters of physical memory.
  uint64_t memory_budget_bytes = 0;
  // Forward passes over sequences of different lengths (the learner's RL steps, the
  // reference's log-probs) put them end to end, each attending only to itself, so no work is
  // spent on padding; false pads each batch to its longest sequence.
  bool sequence_packing = true;

  // The folders actually used once the "empty = policy" defaults are applied.
  const std::string& ReferencePath() const { return reference.empty() ? policy : reference; }
  const std::string& TokenizerPath() const { return tokenizer.empty() ? policy : tokenizer; }
  // The key that named TokenizerPath(), for errors.
  const char* TokenizerKey() const {
    return tokenizer.empty() ? "model.policy (its tokenizer; or set model.tokenizer)"
                             : "model.tokenizer";
  }
  bool operator==(const ModelConfig&) const = default;
};

struct SamplingConfig {
  double temperature = 1.0;
  int32_t top_k = 0;  // 0 = off
  double top_p = 1.0;
  int32_t max_new_tokens = 1024;
  std::vector<int32_t> stop_token_ids;  // besides the tokenizer's EOS
  bool operator==(const SamplingConfig&) const = default;
};

struct RolloutConfig {
  int32_t replicas = 1;
  int32_t capacity = 64;    // sequences per Generate call
  int32_t batch_size = 64;  // prompts per iteration
  int32_t samples_per_prompt = 1;
  SamplingConfig sampling;
  bool operator==(const RolloutConfig&) const = default;
};

struct LengthPenaltyRule {
  double weight = 0.0;  // 0 = off
  int32_t target_tokens = 256;
  bool operator==(const LengthPenaltyRule&) const = default;
};

struct RegexRule {
  double weight = 0.0;  // 0 = off
  std::string pattern;
  bool operator==(const RegexRule&) const = default;
};

struct RewardRules {
  LengthPenaltyRule length_penalty;
  RegexRule regex;
  bool operator==(const RewardRules&) const = default;
};

struct RewardConfig {
  int32_t replicas = 1;
  int32_t capacity = 64;  // sequences per Score call
  double model_weight = 1.0;
  RewardRules rules;
  bool operator==(const RewardConfig&) const = default;
};

struct ReferenceConfig {
  int32_t replicas = 1;
  int32_t capacity = 64;  // sequences per LogProbs call
  bool operator==(const ReferenceConfig&) const = default;
};

// learner.lora: low-rank adapters on the policy's projections instead of training every weight.
struct LoraConfig {
  int32_t rank = 0;  // 0 = off
  double alpha = 16.0;
  std::vector<std::string> target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                             "gate_proj", "up_proj", "down_proj"};
  bool operator==(const LoraConfig&) const = default;
};

struct LearnerConfig {
  LearnerMode mode = LearnerMode::kPpo;
  int32_t ranks = 1;
  CollectiveBackend backend = CollectiveBackend::kAuto;
  double learning_rate = 1e-6;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.95;
  int32_t warmup_steps = 0;  // optimizer steps
  LrSchedule schedule = LrSchedule::kConstant;
  double max_grad_norm = 1.0;    // 0 = no clipping
  int32_t micro_batch_size = 4;  // sequences per forward/backward on one rank
  int32_t gradient_accumulation = 1;
  CriticInit critic_init = CriticInit::kRewardModel;
  int32_t bucket_mb = 25;  // MiB per all-reduce bucket
  int32_t zero_stage = 0;  // 1 = AdamW state sharded across the ranks (ZeRO-1)
  LoraConfig lora;
  bool gradient_checkpointing = false;
  bool operator==(const LearnerConfig&) const = default;
};

struct PpoConfig {
  int32_t epochs = 1;
  int32_t minibatches = 1;
  double clip_epsilon = 0.2;
  double dual_clip = 0.0;   // 0 = off
  double value_clip = 0.2;  // 0 = off
  double gamma = 1.0;
  double lambda_ = 0.95;  // key `lambda`
  double kl_coef = 0.05;
  KlEstimator kl_estimator = KlEstimator::kK1;
  KlController kl_controller = KlController::kFixed;
  double kl_target = 6.0;
  int64_t kl_horizon = 10000;
  bool kl_in_reward = true;
  double entropy_coef = 0.0;
  bool whiten_advantages = true;
  double reward_clip = 10.0;  // 0 = off
  bool normalize_rewards = false;
  double early_stop_kl = 0.0;  // 0 = off
  // π_old is the rollout's log-probs, not a recompute, when they are exact (see the schema).
  bool reuse_behaviour_logprobs = true;
  bool operator==(const PpoConfig&) const = default;
};

// learner.mode dpo, ipo and kto.
struct DpoConfig {
  double beta = 0.1;             // DPO/KTO beta; IPO tau
  double label_smoothing = 0.0;  // dpo: conservative DPO's flip probability
  double desirable_weight = 1.0;    // kto: weight of desirable (approved, chosen) examples
  double undesirable_weight = 1.0;  // kto: weight of undesirable (flagged, rejected) ones
  bool operator==(const DpoConfig&) const = default;
};

// The cost of harmful or biased responses in RL (model.cost_model scores it).
struct SafetyConfig {
  SafetyMode mode = SafetyMode::kOff;
  double cost_coef = 1.0;     // penalty: reward − cost_coef · cost
  double cost_limit = 0.0;    // constraint: keep the mean cost per response at or under this
  double lambda_init = 1.0;   // constraint: the Lagrange multiplier's start
  double lambda_lr = 0.05;    // constraint: step size of its update (in log λ)
  double lambda_max = 0.0;    // constraint: its cap; 0 = 1e6 (rl::kLambdaCeiling)
  bool operator==(const SafetyConfig&) const = default;
};

// Evaluation of held-out and red-team prompts during an RL run.
struct EvalConfig {
  int32_t every = 0;            // iterations between evaluations; 0 = round ends and run end only
  std::string red_team;         // JSONL prompts with "category"; empty = none
  int32_t max_prompts = 256;    // per set and evaluation
  int32_t samples = 2;          // responses per prompt
  double flag_threshold = 0.0;  // a cost (logit of "flagged") above it counts as flagged
  bool campaign = true;         // rounds: post each round's red-team responses for flagging
  int32_t overlap = 1;          // judgements per red-team item
  bool operator==(const EvalConfig&) const = default;
};

// Each round's reward model, trained by the run's reward-model learner (warm-started from the
// previous round's).
struct RoundRewardModelConfig {
  RoundData data = RoundData::kAll;  // all feedback so far, or the round's own
  int32_t steps = 100;               // Train calls per round
  int32_t batch_size = 32;           // preferences per Train call
  double learning_rate = 1e-5;
  double heldout_fraction = 0.1;     // of the round's preferences, for held-out accuracy
  bool operator==(const RoundRewardModelConfig&) const = default;
};

// Each round's cost model, trained from the flags people put on the red-team campaigns so far
// (warm-started from model.cost_model, then from the previous round's).
struct RoundCostModelConfig {
  int32_t steps = 0;  // Train calls per round; 0 = the cost model is never retrained
  int32_t batch_size = 32;
  double learning_rate = 1e-5;
  bool operator==(const RoundCostModelConfig&) const = default;
};

// A run as rounds of feedback, reward modelling and RL (DESIGN.md, "Rounds").
struct RoundsConfig {
  int32_t count = 0;       // 0 = no rounds: the run is one stage
  int32_t iterations = 50;  // RL iterations per round; run.iterations = count × iterations
  std::string prompts;     // prompts judged each round; empty = data.prompts
  int32_t prompts_per_round = 100;
  int32_t overlap = 3;     // judgements per item
  double gold_rate = 0.0;  // share of tasks served from gold items (added by whoever has them)
  int32_t judgements = 0;  // the quota that ends collection; 0 = prompts_per_round × overlap
  absl::Duration deadline = absl::Hours(24);  // from the campaign's creation
  absl::Duration poll_interval = absl::Seconds(1);
  bool include_synthetic = false;  // count synthetic annotators' judgements
  RoundRewardModelConfig reward_model;
  RoundCostModelConfig cost_model;
  bool operator==(const RoundsConfig&) const = default;
};

struct TlsConfig {
  std::string cert;  // empty = plaintext
  std::string key;
  std::string client_ca;
  bool require_client_cert = false;
  bool operator==(const TlsConfig&) const = default;
};

// Per-role credentials (README "Credentials and roles"); each a path to a file holding the
// token, or on servers that must not act as the role, its verifier "sha256:<hex>".
struct AuthConfig {
  std::string worker_token_file;    // every worker process; required with any of these
  std::string operator_token_file;  // the coordinator and reinctl; required with any of these
  std::string monitor_token_file;   // read-only status; empty = no monitor credential
  bool enabled() const {
    return !worker_token_file.empty() || !operator_token_file.empty() ||
           !monitor_token_file.empty();
  }
  bool operator==(const AuthConfig&) const = default;
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int64_t max_message_bytes = 64 << 20;
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  absl::Duration drain_timeout = absl::Seconds(30);
  absl::Duration call_timeout = absl::Minutes(5);
  TlsConfig tls;
  std::string auth_token_file;  // a path; the token itself never sits in the config. All roles
  AuthConfig auth;              // per-role tokens instead of auth_token_file
  int32_t metrics_port = 0;     // 0 = pick a free port
  bool operator==(const ServerConfig&) const = default;
};

struct FeedbackConfig {
  std::string store = "sqlite:feedback.db";  // sqlite:PATH | sqlite:///ABS | postgresql://...
  int32_t http_port = 0;                     // 0 = pick a free port
  int32_t http_threads = 64;
  std::string public_url;       // base of invite links; empty = http://<host>:<http_port>
  std::string admin_token_file;  // a path; empty = server.auth_token_file
  absl::Duration lease_duration = absl::Minutes(10);
  int32_t max_open_leases = 2;        // per annotator
  double submissions_per_minute = 120;  // per annotator and replica; 0 = unlimited
  int64_t max_request_bytes = 1 << 20;
  absl::Duration session_lifetime = absl::Hours(12);
  double min_gold_accuracy = 0.6;  // annotators below it are paused; 0 = never
  int32_t min_gold_judgements = 5;
  bool operator==(const FeedbackConfig&) const = default;
};

struct ExperimentConfig {
  RunConfig run;
  DataConfig data;
  ModelConfig model;
  RolloutConfig rollout;
  RewardConfig reward;
  ReferenceConfig reference;
  LearnerConfig learner;
  PpoConfig ppo;
  DpoConfig dpo;
  SafetyConfig safety;
  RoundsConfig rounds;
  EvalConfig eval;
  ServerConfig server;
  FeedbackConfig feedback;
  bool operator==(const ExperimentConfig&) const = default;
};

// Parses one YAML document. `source_name` (usually the file's path) starts every error line.
// Empty input yields the defaults. Errors: INVALID_ARGUMENT listing every problem found.
absl::StatusOr<ExperimentConfig> ParseExperimentConfig(absl::string_view yaml,
                                                       absl::string_view source_name);

// Reads and parses the file at `path`. A missing file is NOT_FOUND; a directory, an unreadable
// or implausibly large file is INVALID_ARGUMENT; each names the path.
absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path);

// `config` as a complete YAML document, every key under its doc comment. Parses back to an
// equal config; a run writes this next to its checkpoints so it can be reproduced.
std::string ExperimentConfigYaml(const ExperimentConfig& config);

// ExperimentConfigYaml(ExperimentConfig{}): every key, its default and its documentation.
std::string DefaultConfigYaml();

}  // namespace rein::config

#endif  // REIN_COMMON_CONFIG_EXPERIMENT_CONFIG_H_
