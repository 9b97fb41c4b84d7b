// learner.lora: the policy trains only its adapters on a frozen base, serves only those, and
// checkpoints them in PEFT's files, resuming bit-identically.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "common/model/lora.h"
#include "common/testing/subprocess.h"
#include "services/learner/checkpoint_io.h"
#include "services/learner/learner.h"
#include "services/learner/learner_test_util.h"
#include "services/learner/rl_step.h"

namespace rein::learner {
namespace {

namespace fs = std::filesystem;
using testing::kBad;
using testing::kGood;
using testing::kPrompt;
using testing::ResponseLogProb;

LearnerOptions LoraOptions(config::LearnerMode mode = config::LearnerMode::kGrpo) {
  LearnerOptions options = testing::TinyOptions(mode);
  options.learner.lora = {.rank = 4, .alpha = 8, .target_modules = {"q_proj", "v_proj", "up_proj"}};
  // Adapters start at zero and are few: they take a larger step than full fine-tuning's 1e-3.
  options.learner.learning_rate = 2e-2;
  return options;
}

std::vector<at::Tensor> Adapters(const model::CausalLM& lm) {
  std::vector<at::Tensor> out;
  for (const auto& [name, tensor] : lm.NamedAdapters()) out.push_back(tensor.detach().clone());
  return out;
}

TEST_CASE("grpo with learner.lora learns through the adapters alone and serves only them") {
  auto state = REIN_LEARNER_OK(LearnerState::Create(LoraOptions()));
  REQUIRE(state->policy().lora().has_value());
  const std::vector<at::Tensor> base = testing::Snapshot(state->policy());
  const std::vector<at::Tensor> adapters = Adapters(state->policy());
  auto gap = [&] {
    return ResponseLogProb(state->policy(), kPrompt, kGood) -
           ResponseLogProb(state->policy(), kPrompt, kBad);
  };
  const double before = gap();
  for (uint64_t it = 1; it <= 4; ++it) testing::TrainOnToyBatch(*state, it);
  INFO("gap " << before << " -> " << gap());
  CHECK(gap() - before > 0.5);
  CHECK(testing::Identical(testing::Snapshot(state->policy()), base));
  CHECK(!testing::Identical(Adapters(state->policy()), adapters));
  // AdamW's two moments of the adapters only: a small fraction of the model's size.
  int64_t adapter_elements = 0, model_elements = 0;
  for (const at::Tensor& a : adapters) adapter_elements += a.numel();
  for (const at::Tensor& p : base) model_elements += p.numel();
  CHECK(state->OptimizerStateBytes() == 2 * 4 * adapter_elements);
  CHECK(adapter_elements * 20 < model_elements);

  prometheus::Registry registry;
  auto learner = REIN_LEARNER_OK(Learner::Create(std::move(state), registry));
  size_t served = 0;
  REQUIRE(learner
              ->WithWeights([&](uint64_t, absl::Span<const tensor::NamedTensor> tensors) {
                for (const auto& [name, tensor] : tensors) {
                  INFO(name);
                  CHECK(name.find(".lora_") != std::string::npos);
                }
                served = tensors.size();
                return absl::OkStatus();
              })
              .ok());
  CHECK(served == adapters.size());
}

TEST_CASE("a learner.lora checkpoint holds PEFT's files and resumes bit-identically") {
  const fs::path root = rein::testing::MakeTempDir("learner_lora_ckpt");
  const LearnerOptions options = LoraOptions();
  auto a = REIN_LEARNER_OK(LearnerState::Create(options));
  testing::TrainOnToyBatch(*a, 1);
  const fs::path ckpt = root / "step-1";
  REQUIRE(SaveLearnerCheckpoint(*a, ckpt.string()).ok());
  testing::TrainOnToyBatch(*a, 2);
  CHECK(fs::exists(ckpt / "policy" / "adapter_config.json"));
  CHECK(fs::exists(ckpt / "policy" / "adapter_model.safetensors"));
  auto peft = REIN_LEARNER_OK(model::ReadLoraConfig((ckpt / "policy").string()));
  CHECK(peft.rank == 4);

  auto b = REIN_LEARNER_OK(LoadLearnerCheckpoint(ckpt.string(), options));
  testing::TrainOnToyBatch(*b, 2);
  CHECK(testing::Identical(Adapters(a->policy()), Adapters(b->policy())));
  CHECK(testing::Identical(testing::Snapshot(a->policy()), testing::Snapshot(b->policy())));

  LearnerOptions off = options;
  off.learner.lora.rank = 0;
  auto refused = LoadLearnerCheckpoint(ckpt.string(), off);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(refused.status().message().find("learner.lora.rank is 0") != std::string::npos);
  LearnerOptions other = options;
  other.learner.lora.rank = 8;
  refused = LoadLearnerCheckpoint(ckpt.string(), other);
  CHECK(refused.status().message().find("differ from learner.lora") != std::string::npos);
  fs::remove_all(root);
}

TEST_CASE("reward-model training ignores learner.lora and trains every weight") {
  auto state =
      REIN_LEARNER_OK(LearnerState::Create(LoraOptions(config::LearnerMode::kRewardModel)));
  CHECK(!state->policy().lora().has_value());
  CHECK(state->policy_optimizer().parameters().size() == state->policy().Parameters().size());
}

}  // namespace
}  // namespace rein::learner
