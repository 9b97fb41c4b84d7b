// Checkpoints: what lands on disk, and that resuming continues bit-identically.
#include "services/learner/checkpoint_io.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/testing/subprocess.h"
#include "services/learner/learner_test_util.h"
#include "services/learner/rl_step.h"

namespace rein::learner {
namespace {

namespace fs = std::filesystem;

nlohmann::json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST_CASE("a ppo checkpoint resumes bit-identically") {
  const fs::path root = rein::testing::MakeTempDir("learner_ckpt");
  // A model folder with tokenizer files, which the checkpoint copies.
  const fs::path model = root / "model";
  fs::copy(testing::TinyModelDir(), model);
  std::ofstream(model / "tokenizer.json") << "{\"model\": {}}";
  LearnerOptions options = testing::TinyOptions(config::LearnerMode::kPpo);
  options.model.policy = model.string();
  options.ppo.normalize_rewards = true;
  options.learner.schedule = config::LrSchedule::kCosine;
  options.learner.warmup_steps = 3;
  options.iterations = 5;

  auto a = REIN_LEARNER_OK(LearnerState::Create(options));
  testing::TrainOnToyBatch(*a, 1);
  testing::TrainOnToyBatch(*a, 2);
  const fs::path ckpt = root / "ckpt" / "step-2";
  REQUIRE(SaveLearnerCheckpoint(*a, ckpt.string()).ok());
  testing::TrainOnToyBatch(*a, 3);

  auto b = REIN_LEARNER_OK(LoadLearnerCheckpoint(ckpt.string(), options));
  CHECK(b->progress().policy_version == 2);
  CHECK(b->progress().last_iteration == 2);
  CHECK(b->progress().optimizer_steps == 8);
  testing::TrainOnToyBatch(*b, 3);
  CHECK(testing::Identical(testing::Snapshot(a->policy()), testing::Snapshot(b->policy())));
  CHECK(testing::Identical(testing::Snapshot(*a->critic()), testing::Snapshot(*b->critic())));
  CHECK(a->NextLearningRate() == b->NextLearningRate());

  // What is on disk.
  CHECK(fs::exists(ckpt / "policy" / "config.json"));
  CHECK(fs::exists(ckpt / "policy" / "tokenizer.json"));
  CHECK(fs::exists(ckpt / "critic" / "model.safetensors"));
  CHECK(fs::exists(ckpt / "optimizer.safetensors"));
  const nlohmann::json manifest = ReadJson(ckpt / "manifest.json");
  CHECK(manifest["mode"] == "ppo");
  CHECK(manifest["step"] == 8);
  CHECK(manifest["policy_version"] == 2);
  CHECK(manifest["last_iteration"] == 2);
  CHECK(manifest["format_version"] == kCheckpointFormatVersion);
  CHECK(manifest.contains("rng_state"));
  CHECK(manifest["reward_normalizer"]["count"] == 8);
  REIN_LEARNER_OK(model::CausalLM::Load((ckpt / "policy").string()));
  for (const auto& entry : fs::directory_iterator(ckpt.parent_path())) {
    CHECK(entry.path().filename() == "step-2");  // no temporary folder left behind
  }

  // Saving again over the same folder replaces it whole.
  REQUIRE(SaveLearnerCheckpoint(*a, ckpt.string()).ok());
  CHECK(ReadJson(ckpt / "manifest.json")["policy_version"] == 3);
}

TEST_CASE("a reward-model checkpoint holds a sequence-classification model") {
  const fs::path root = rein::testing::MakeTempDir("learner_rm_ckpt");
  const LearnerOptions options = testing::TinyOptions(config::LearnerMode::kRewardModel);
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  REQUIRE(SaveLearnerCheckpoint(*state, (root / "rm").string()).ok());
  const nlohmann::json config = ReadJson(root / "rm" / "policy" / "config.json");
  CHECK(config["architectures"][0] == "LlamaForSequenceClassification");
  CHECK_FALSE(fs::exists(root / "rm" / "critic"));
  auto restored = REIN_LEARNER_OK(LoadLearnerCheckpoint((root / "rm").string(), options));
  CHECK(testing::Identical(testing::Snapshot(state->policy()),
                           testing::Snapshot(restored->policy())));
}

TEST_CASE("a bfloat16 learner trains through float32 masters and resumes bit-identically") {
  const fs::path root = rein::testing::MakeTempDir("learner_bf16_ckpt");
  LearnerOptions options = testing::TinyOptions(config::LearnerMode::kGrpo);
  options.model.dtype = config::DType::kBF16;
  auto a = REIN_LEARNER_OK(LearnerState::Create(options));
  REQUIRE(a->policy().dtype() == at::kBFloat16);
  REQUIRE(a->policy_optimizer().master(0).defined());
  const double before = testing::ResponseLogProb(a->policy(), testing::kPrompt, testing::kGood) -
                        testing::ResponseLogProb(a->policy(), testing::kPrompt, testing::kBad);
  testing::TrainOnToyBatch(*a, 1);
  testing::TrainOnToyBatch(*a, 2);
  const double after = testing::ResponseLogProb(a->policy(), testing::kPrompt, testing::kGood) -
                       testing::ResponseLogProb(a->policy(), testing::kPrompt, testing::kBad);
  INFO("gap " << before << " -> " << after);
  CHECK(after - before > 0.2);
  const fs::path ckpt = root / "step-2";
  REQUIRE(SaveLearnerCheckpoint(*a, ckpt.string()).ok());
  testing::TrainOnToyBatch(*a, 3);
  auto b = REIN_LEARNER_OK(LoadLearnerCheckpoint(ckpt.string(), options));
  testing::TrainOnToyBatch(*b, 3);
  CHECK(testing::Identical(testing::Snapshot(a->policy()), testing::Snapshot(b->policy())));
  const rl::AdamW& oa = a->policy_optimizer();
  const rl::AdamW& ob = b->policy_optimizer();
  for (size_t i = 0; i < oa.parameters().size(); ++i) {
    CHECK(testing::Identical({oa.master(i)}, {ob.master(i)}));
  }
}

TEST_CASE("a checkpoint of another mode is refused") {
  const fs::path root = rein::testing::MakeTempDir("learner_mode_ckpt");
  auto state = REIN_LEARNER_OK(
      LearnerState::Create(testing::TinyOptions(config::LearnerMode::kSft)));
  REQUIRE(SaveLearnerCheckpoint(*state, (root / "sft").string()).ok());
  auto loaded = LoadLearnerCheckpoint((root / "sft").string(),
                                      testing::TinyOptions(config::LearnerMode::kGrpo));
  CHECK(loaded.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(LoadLearnerCheckpoint((root / "missing").string(),
                              testing::TinyOptions(config::LearnerMode::kSft))
            .status()
            .code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace rein::learner
