#include "services/learner/learner_state.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/hf_checkpoint.h"
#include "common/log/log.h"
#include "common/model/folder_budget.h"
#include "common/status/status_macros.h"
#include "services/learner/torch_guard.h"
#include "services/worker/worker_model.h"

namespace rein::learner {
namespace {

// Seeds derived from the run seed so that the two fresh heads differ.
constexpr uint64_t kRewardHeadSeedOffset = 1;
constexpr uint64_t kCriticHeadSeedOffset = 2;

rl::LrDecay ToDecay(config::LrSchedule schedule) {
  switch (schedule) {
    case config::LrSchedule::kConstant: return rl::LrDecay::kConstant;
    case config::LrSchedule::kLinear: return rl::LrDecay::kLinear;
    case config::LrSchedule::kCosine: return rl::LrDecay::kCosine;
  }
  return rl::LrDecay::kConstant;
}

rl::AdamWOptions AdamOptions(const config::LearnerConfig& c) {
  return {.lr = c.learning_rate, .beta1 = c.adam_beta1, .beta2 = c.adam_beta2,
          .weight_decay = c.weight_decay};
}

// `loaded`, or its error prefixed with the config key that named `dir`.
absl::StatusOr<std::unique_ptr<model::CausalLM>> NamedByKey(
    absl::string_view key, const std::string& dir,
    absl::StatusOr<std::unique_ptr<model::CausalLM>> loaded) {
  if (loaded.ok()) return loaded;
  return absl::Status(loaded.status().code(), absl::StrCat(key, ": cannot load the model in '",
                                                           dir, "': ", loaded.status().message()));
}

// A model with a scalar head from `dir`: its own score.weight when it has one, else its trunk
// with a fresh head.
absl::StatusOr<std::unique_ptr<model::CausalLM>> LoadScalarModel(const config::ModelConfig& m,
                                                                 const std::string& dir,
                                                                 uint64_t head_seed,
                                                                 int cuda_device) {
  RETURN_IF_ERROR(model::CheckFolderFits(
      dir, worker::ModelOptionsFromConfig(m, model::Heads::kScalar, cuda_device), m.memory_budget_bytes));
  ASSIGN_OR_RETURN(checkpoint::HfCheckpoint ckpt, checkpoint::LoadHfCheckpoint(dir));
  const bool has_head = ckpt.tensors.count("score.weight") != 0;
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> lm,
                   model::CausalLM::FromCheckpoint(
                       ckpt, worker::ModelOptionsFromConfig(
                                 m, has_head ? model::Heads::kScalar : model::Heads::kNone,
                                 cuda_device)));
  if (!has_head) RETURN_IF_ERROR(lm->AddScalarHead(head_seed));
  REIN_LOG(INFO, "learner") << "scalar model from " << dir
                            << (has_head ? " (its score head)" : " (fresh score head)");
  return lm;
}

// The policy's adapters against learner.lora: added when it asks for them and the policy (a
// fresh one) has none; a checkpoint's adapters must be the ones it asks for.
absl::Status MatchPolicyLora(const config::LearnerConfig& learner, uint64_t seed,
                             model::CausalLM& policy) {
  const std::optional<model::LoraOptions> has = policy.lora();
  if (has && learner.lora.rank == 0) {
    return absl::InvalidArgumentError(
        "the policy has LoRA adapters (a checkpoint of a learner.lora run) but learner.lora.rank "
        "is 0; set learner.lora as that run did");
  }
  if (has && *has != worker::LoraOptionsFromConfig(learner.lora)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the policy's LoRA adapters (rank ", has->rank, ", alpha ", has->alpha,
        ") differ from learner.lora (rank ", learner.lora.rank, ", alpha ", learner.lora.alpha,
        ", or other target_modules); resume with the run's own learner.lora"));
  }
  return worker::AddConfiguredLora(learner, seed, policy);
}

}  // namespace

absl::StatusOr<std::unique_ptr<model::CausalLM>> LoadLearnerModel(const config::ModelConfig& m,
                                                                  const std::string& dir,
                                                                  model::Heads heads,
                                                                  int cuda_device) {
  const model::ModelOptions options = worker::ModelOptionsFromConfig(m, heads, cuda_device);
  RETURN_IF_ERROR(model::CheckFolderFits(dir, options, m.memory_budget_bytes));
  return model::CausalLM::Load(dir, options);
}

LearnerState::LearnerState(const LearnerOptions& options, std::unique_ptr<model::CausalLM> policy,
                           std::unique_ptr<model::CausalLM> critic)
    : options_(options),
      policy_(std::move(policy)),
      critic_(std::move(critic)),
      rng_(options.seed) {}

LearnerState::~LearnerState() {
  // Unhook before the models go; the shards refer to the optimizers.
  critic_shard_.reset();
  policy_shard_.reset();
  critic_sync_.reset();
  policy_sync_.reset();
}

absl::Status LearnerState::JoinGroup(std::unique_ptr<dist::Communicator> comm) {
  if (comm == nullptr) return absl::InvalidArgumentError("JoinGroup: no communicator");
  if (comm_ != nullptr) return absl::FailedPreconditionError("JoinGroup: already in a group");
  if (comm->world_size() == 1) return absl::OkStatus();
  if (options_.learner.zero_stage == 1 && policy_optimizer_->master(0).defined()) {
    return absl::UnimplementedError(
        "learner.zero_stage 1 with bfloat16/float16 weights (model.dtype): their float32 master "
        "copies are not sharded yet; use zero_stage 0, or model.dtype f32");
  }
  // A LoRA policy's frozen base is the same file on every rank; only what trains is synced.
  std::vector<std::vector<at::Tensor>> models = {policy_->TrainableParameters()};
  if (critic_ != nullptr) models.push_back(critic_->Parameters());
  absl::Status broadcast = GuardTorch("weight broadcast", [&]() -> absl::Status {
    at::NoGradGuard no_grad;
    for (const std::vector<at::Tensor>& params : models) {
      for (const at::Tensor& p : params) {
        at::Tensor buffer = p.is_contiguous() ? p : p.contiguous();
        if (absl::Status sent = comm->Broadcast(buffer, 0); !sent.ok()) return sent;
        if (!buffer.is_same(p)) p.copy_(buffer);
      }
    }
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(broadcast);
  const dist::GradientSyncOptions sync{
      .bucket_bytes = static_cast<size_t>(std::max(1, options_.learner.bucket_mb)) << 20,
      .overlap = true};
  ASSIGN_OR_RETURN(policy_sync_, dist::GradientSync::Create(*comm, models[0], sync));
  if (critic_ != nullptr) {
    ASSIGN_OR_RETURN(critic_sync_, dist::GradientSync::Create(*comm, models[1], sync));
  }
  comm_ = std::move(comm);
  REIN_LOG(INFO, "learner") << "rank " << comm_->rank() << " of " << comm_->world_size()
                            << " joined the " << comm_->backend() << " group; "
                            << policy_sync_->bucket_count() << " gradient buckets of <= "
                            << options_.learner.bucket_mb << " MiB";
  if (options_.learner.zero_stage == 1) {
    policy_shard_ = std::make_unique<OptimizerShard>(*policy_optimizer_, *comm_, sync.bucket_bytes);
    if (critic_optimizer_ != nullptr) {
      critic_shard_ =
          std::make_unique<OptimizerShard>(*critic_optimizer_, *comm_, sync.bucket_bytes);
    }
    REIN_LOG(INFO, "learner") << "zero_stage 1: rank " << comm_->rank() << " keeps the AdamW "
                              << "state of its share of the parameters ("
                              << OptimizerStateBytes() << " bytes now)";
  }
  return absl::OkStatus();
}

int64_t LearnerState::OptimizerStateBytes() const {
  int64_t bytes = policy_optimizer_->StateBytes();
  if (critic_optimizer_ != nullptr) bytes += critic_optimizer_->StateBytes();
  return bytes;
}

void LearnerState::ArmGradientSync() {
  if (policy_sync_) policy_sync_->ArmForLastBackward();
  if (critic_sync_) critic_sync_->ArmForLastBackward();
}

absl::StatusOr<std::unique_ptr<LearnerState>> LearnerState::Create(const LearnerOptions& options) {
  RETURN_IF_ERROR(CheckLearnerOptions(options));
  const config::ModelConfig& m = options.model;
  std::unique_ptr<model::CausalLM> policy, critic;
  if (config::TrainsScalarHead(options.learner.mode)) {
    ASSIGN_OR_RETURN(policy, NamedByKey("model.policy", m.policy,
                                        LoadScalarModel(m, m.policy,
                                                        options.seed + kRewardHeadSeedOffset,
                                                        options.cuda_device)));
  } else {
    ASSIGN_OR_RETURN(policy, NamedByKey("model.policy", m.policy,
                                        LoadLearnerModel(m, m.policy, model::Heads::kLm,
                                                         options.cuda_device)));
  }
  if (options.learner.mode == config::LearnerMode::kPpo) {
    if (options.learner.critic_init == config::CriticInit::kRewardModel) {
      ASSIGN_OR_RETURN(critic,
                       NamedByKey("model.reward_model (the critic's start)", m.reward_model,
                                  LoadScalarModel(m, m.reward_model, 0, options.cuda_device)));
      if (critic->config().vocab_size != policy->config().vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "model.reward_model: vocabulary of ", critic->config().vocab_size,
            " tokens, the policy's has ", policy->config().vocab_size,
            "; the critic reads the policy's token ids"));
      }
    } else {
      ASSIGN_OR_RETURN(critic,
                       LoadLearnerModel(m, m.policy, model::Heads::kNone, options.cuda_device));
      RETURN_IF_ERROR(critic->AddScalarHead(options.seed + kCriticHeadSeedOffset));
    }
  }
  return FromModels(options, std::move(policy), std::move(critic));
}

absl::StatusOr<std::unique_ptr<LearnerState>> LearnerState::FromModels(
    const LearnerOptions& options, std::unique_ptr<model::CausalLM> policy,
    std::unique_ptr<model::CausalLM> critic) {
  if (options.learner.ranks > 1) RETURN_IF_ERROR(CheckLearnerOptions(options));
  const bool reward_model = config::TrainsScalarHead(options.learner.mode);
  const bool ppo = options.learner.mode == config::LearnerMode::kPpo;
  if (policy == nullptr) return absl::InvalidArgumentError("policy: no model");
  if (reward_model ? !policy->has_scalar_head() : !policy->has_lm_head()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy: needs ", reward_model ? "a scalar head (reward-model and cost-model modes)" : "an LM head"));
  }
  if (ppo && (critic == nullptr || !critic->has_scalar_head())) {
    return absl::InvalidArgumentError("critic: ppo needs a critic with a scalar head");
  }
  if (!ppo) critic.reset();
  std::unique_ptr<LearnerState> state(
      new LearnerState(options, std::move(policy), std::move(critic)));
  RETURN_IF_ERROR(state->Init());
  return state;
}

absl::Status LearnerState::Init() {
  // learner.lora trains the policy's adapters on a frozen base; the scalar-head modes (reward
  // and cost models) train every weight.
  if (!config::TrainsScalarHead(mode())) {
    RETURN_IF_ERROR(MatchPolicyLora(options_.learner, options_.seed, *policy_));
  }
  policy_->SetGradientCheckpointing(options_.learner.gradient_checkpointing);
  if (critic_ != nullptr)
    critic_->SetGradientCheckpointing(options_.learner.gradient_checkpointing);
  // Loaded weights do not track gradients; every weight a model trains does.
  const bool lora = policy_->lora().has_value();
  for (at::Tensor& p : policy_->Parameters()) p.requires_grad_(!lora);
  for (at::Tensor& p : policy_->TrainableParameters()) p.requires_grad_(true);
  if (critic_ != nullptr) {
    for (at::Tensor& p : critic_->Parameters()) p.requires_grad_(true);
  }
  progress_.peak_learning_rate = options_.learner.learning_rate;
  progress_.kl_coef = options_.ppo.kl_coef;
  ASSIGN_OR_RETURN(policy_optimizer_, rl::AdamW::Create(policy_->TrainableParameters(),
                                                        AdamOptions(options_.learner)));
  if (critic_ != nullptr) {
    ASSIGN_OR_RETURN(critic_optimizer_,
                     rl::AdamW::Create(critic_->Parameters(), AdamOptions(options_.learner)));
  }
  if (options_.ppo.normalize_rewards) {
    ASSIGN_OR_RETURN(reward_normalizer_,
                     rl::RewardNormalizer::Create({.clip = options_.ppo.reward_clip}));
  }
  return SetPeakLearningRate(options_.learner.learning_rate);
}

int64_t LearnerState::ScheduleSteps() const {
  const int64_t per_iteration =
      config::IsReinforcementLearning(mode())
          ? int64_t{options_.ppo.epochs} * options_.ppo.minibatches
          : 1;
  return std::max<int64_t>({1, options_.iterations * per_iteration,
                            int64_t{options_.learner.warmup_steps}});
}

absl::Status LearnerState::SetPeakLearningRate(double peak) {
  if (!(peak >= 0) || !std::isfinite(peak)) {
    return absl::InvalidArgumentError(
        absl::StrCat("learning_rate: must be a finite number >= 0, got ", peak));
  }
  ASSIGN_OR_RETURN(schedule_,
                   rl::LrSchedule::Create({.peak_lr = peak,
                                           .warmup_steps = options_.learner.warmup_steps,
                                           .total_steps = ScheduleSteps(),
                                           .decay = ToDecay(options_.learner.schedule)}));
  progress_.peak_learning_rate = peak;
  return absl::OkStatus();
}

double LearnerState::NextLearningRate() const {
  return schedule_->LearningRate(progress_.optimizer_steps);
}

}  // namespace rein::learner
