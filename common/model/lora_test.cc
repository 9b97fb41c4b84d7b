// LoRA adapters: a no-op when new, the same outputs merged or not on every forward path,
// PEFT's files round-trip, errors, and they learn while the base stays frozen.
#include "common/model/lora.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/tensor.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/checkpoint/safetensors.h"
#include "common/model/causal_lm.h"
#include "common/model/testing/golden.h"
#include "common/testing/subprocess.h"

namespace rein::model {
namespace {

using testing::MaxAbsDiff;

nlohmann::json SmallConfig(const std::string& model_type) {
  return {{"model_type", model_type},
          {"vocab_size", 64},
          {"hidden_size", 32},
          {"intermediate_size", 48},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"max_position_embeddings", 64},
          {"initializer_range", 0.2},
          {"n_embd", 32},  // GPT-2's names
          {"n_layer", 2},
          {"n_head", 4},
          {"n_positions", 64}};
}

std::unique_ptr<CausalLM> Small(const std::string& model_type = "qwen3", uint64_t seed = 3) {
  auto lm = CausalLM::CreateRandom(SmallConfig(model_type), seed);
  REQUIRE(lm.ok());
  return std::move(*lm);
}

// Two right-padded rows of different lengths.
TokenBatch Batch() {
  return {
      .input_ids = at::tensor({5, 9, 2, 6, 5, 3, 1, 4, 1, 5, 0, 0}, at::kLong).view({2, 6}),
      .attention_mask = at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, at::kLong).view({2, 6})};
}

at::Tensor Logits(const CausalLM& lm, TokenBatch batch = Batch()) {
  auto logits = lm.Logits(batch);
  REQUIRE(logits.ok());
  return logits->narrow(1, 0, 4);  // positions real in both rows
}

// Gives every B a random value, so the adapters change the outputs.
void RandomiseB(CausalLM& lm, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& [name, view] : lm.NamedAdapters()) {
    if (name.find("lora_B") != std::string::npos) view.normal_(0.0, 0.3, generator);
  }
}

TEST_CASE("new adapters change nothing, with random B they do, and adapters=false is the base") {
  auto lm = Small();
  const at::Tensor base = Logits(*lm);
  REQUIRE(lm->AddLora({.rank = 4, .alpha = 8}, 1).ok());
  CHECK(MaxAbsDiff(Logits(*lm), base) == 0.0);
  // 2 layers x 7 targets x (A, B).
  CHECK(lm->NamedAdapters().size() == 28);
  CHECK(lm->NamedAdapters().front().first == "model.layers.0.self_attn.q_proj.lora_A.weight");
  CHECK(lm->TrainableParameters().size() == 28);
  RandomiseB(*lm, 7);
  CHECK(MaxAbsDiff(Logits(*lm), base) > 1e-3);
  TokenBatch without = Batch();
  without.adapters = false;
  CHECK(MaxAbsDiff(Logits(*lm, without), base) == 0.0);
}

TEST_CASE("merged and unmerged adapters agree on the padded, packed and cached paths") {
  for (const std::vector<std::string>& targets :
       {std::vector<std::string>{"q_proj", "v_proj"}, LoraTargetNames(),
        std::vector<std::string>{"k_proj", "down_proj", "gate_proj"}}) {
    auto lm = Small("qwen3", 5);
    REQUIRE(lm->AddLora({.rank = 3, .alpha = 6, .target_modules = targets}, 2).ok());
    RandomiseB(*lm, 11);
    const at::Tensor unmerged = Logits(*lm);

    // Packed: the two rows end to end.
    at::Tensor packed_ids = at::tensor({5, 9, 2, 6, 5, 3, 1, 4, 1, 5}, at::kLong);
    auto hidden = lm->HiddenPacked(packed_ids, {6, 4});
    REQUIRE(hidden.ok());
    auto packed = lm->LmLogits(*hidden);
    REQUIRE(packed.ok());
    CHECK(MaxAbsDiff(packed->narrow(0, 0, 4), unmerged[0]) < 1e-5);
    CHECK(MaxAbsDiff(packed->narrow(0, 6, 4), unmerged[1]) < 1e-5);

    // Cached: the first row, prefilled in two steps.
    auto cache = lm->NewKvCache(1, 8);
    REQUIRE(cache.ok());
    at::Tensor ids = at::tensor({5, 9, 2, 6}, at::kLong).view({1, 4});
    auto first = lm->HiddenCached({.input_ids = ids.narrow(1, 0, 2),
                                   .position_ids = at::arange(2, at::kLong).view({1, 2}),
                                   .cache_lengths = at::tensor({0}, at::kLong)},
                                  **cache);
    auto second = lm->HiddenCached({.input_ids = ids.narrow(1, 2, 2),
                                    .position_ids = at::arange(2, 4, at::kLong).view({1, 2}),
                                    .cache_lengths = at::tensor({2}, at::kLong)},
                                   **cache);
    REQUIRE((first.ok() && second.ok()));
    auto cached = lm->LmLogits(*second);
    REQUIRE(cached.ok());
    CHECK(MaxAbsDiff(cached->select(0, 0), unmerged[0].narrow(0, 2, 2)) < 1e-5);

    REQUIRE(lm->MergeLora().ok());
    CHECK(!lm->lora().has_value());
    CHECK(lm->NamedAdapters().empty());
    CHECK(MaxAbsDiff(Logits(*lm), unmerged) < 1e-5);
  }
}

TEST_CASE("adapters learn while the base stays frozen") {
  auto lm = Small("llama", 9);
  REQUIRE(lm->AddLora({.rank = 4, .alpha = 8}, 3).ok());
  std::vector<at::Tensor> base;
  for (const at::Tensor& p : lm->Parameters()) base.push_back(p.detach().clone());
  for (at::Tensor& p : lm->TrainableParameters()) p.requires_grad_(true);
  const at::Tensor ids = at::tensor({1, 7, 3, 8, 2, 9, 4, 10}, at::kLong).view({1, 8});
  auto loss_of = [&] {
    auto logits = lm->Logits({.input_ids = ids});
    REQUIRE(logits.ok());
    // Mean negative log-likelihood of each next token.
    return logits->narrow(1, 0, 7)
        .log_softmax(-1)
        .gather(-1, ids.narrow(1, 1, 7).unsqueeze(-1))
        .mean()
        .neg();
  };
  const double start = loss_of().item<double>();
  for (int step = 0; step < 30; ++step) {
    at::Tensor loss = loss_of();
    loss.backward();
    at::NoGradGuard no_grad;
    for (at::Tensor& p : lm->TrainableParameters()) {
      p.sub_(p.grad().mul(0.05));
      p.mutable_grad().zero_();
    }
  }
  const double end = loss_of().item<double>();
  INFO("loss " << start << " -> " << end);
  CHECK(end < 0.5 * start);
  const std::vector<at::Tensor> now = lm->Parameters();
  for (size_t i = 0; i < base.size(); ++i) CHECK(MaxAbsDiff(now[i], base[i]) == 0.0);
  for (const at::Tensor& p : lm->Parameters()) CHECK(!p.grad().defined());
}

TEST_CASE("PEFT's adapter folder round-trips, and a policy folder with adapters loads them") {
  const std::string dir = rein::testing::MakeTempDir("rein_lora_test_");
  auto lm = Small();
  REQUIRE(lm->AddLora({.rank = 2, .alpha = 4, .target_modules = {"q_proj", "up_proj"}}, 4).ok());
  RandomiseB(*lm, 5);
  const at::Tensor trained = Logits(*lm);
  REQUIRE(SaveLoraAdapter(*lm, dir + "/adapter", "/models/base").ok());

  std::ifstream config_file(dir + "/adapter/adapter_config.json");
  const nlohmann::json config = nlohmann::json::parse(config_file);
  CHECK(config["peft_type"] == "LORA");
  CHECK(config["task_type"] == "CAUSAL_LM");
  CHECK(config["r"] == 2);
  CHECK(config["lora_alpha"] == 4.0);
  CHECK(config["target_modules"] == nlohmann::json({"q_proj", "up_proj"}));
  CHECK(config["base_model_name_or_path"] == "/models/base");
  auto file = checkpoint::SafetensorsFile::Open(dir + "/adapter/adapter_model.safetensors");
  REQUIRE(file.ok());
  CHECK((*file)->names().size() == 8);
  auto a = (*file)->Get("base_model.model.model.layers.1.mlp.up_proj.lora_A.weight");
  auto b = (*file)->Get("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight");
  REQUIRE((a.ok() && b.ok()));
  CHECK(a->sizes().vec() == std::vector<int64_t>{2, 32});
  const int64_t q_rows = lm->config().num_heads * lm->config().head_dim;
  CHECK(b->sizes().vec() == std::vector<int64_t>{q_rows, 2});

  auto fresh = Small();
  REQUIRE(LoadLoraAdapter(*fresh, dir + "/adapter").ok());
  CHECK(MaxAbsDiff(Logits(*fresh), trained) == 0.0);

  // A learner checkpoint's policy folder: the base, and the adapter files beside it.
  auto base_only = Small();
  REQUIRE(base_only->Save(dir + "/policy").ok());
  REQUIRE(SaveLoraAdapter(*lm, dir + "/policy", "/models/base").ok());
  auto loaded = CausalLM::Load(dir + "/policy");
  REQUIRE(loaded.ok());
  REQUIRE((*loaded)->lora().has_value());
  CHECK((*loaded)->lora()->rank == 2);
  CHECK(MaxAbsDiff(Logits(**loaded), trained) < 1e-6);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bad LoRA options and folders are clear errors") {
  auto lm = Small();
  CHECK(lm->AddLora({.rank = 0}, 1).code() == absl::StatusCode::kInvalidArgument);
  CHECK(lm->AddLora({.alpha = -1}, 1).code() == absl::StatusCode::kInvalidArgument);
  const absl::Status unknown = lm->AddLora({.target_modules = {"q_proj", "qkv"}}, 1);
  CHECK(unknown.code() == absl::StatusCode::kInvalidArgument);
  CHECK(unknown.message().find("'qkv'") != std::string::npos);
  CHECK(lm->AddLora({.target_modules = {"q_proj", "q_proj"}}, 1).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(lm->MergeLora().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Small("gpt2")->AddLora({}, 1).code() == absl::StatusCode::kUnimplemented);
  REQUIRE(lm->AddLora({}, 1).ok());
  CHECK(lm->AddLora({}, 1).code() == absl::StatusCode::kFailedPrecondition);

  const std::string dir = rein::testing::MakeTempDir("rein_lora_test_");
  REQUIRE(SaveLoraAdapter(*lm, dir, "base").ok());
  // A config that promises tensors the file does not hold: the model is left without adapters.
  auto write_config = [&](nlohmann::json config) {
    std::ofstream(dir + "/adapter_config.json") << config.dump();
  };
  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir + "/adapter_config.json"));
  config["r"] = 4;
  write_config(config);
  auto target = Small();
  const absl::Status misshapen = LoadLoraAdapter(*target, dir);
  CHECK(misshapen.code() == absl::StatusCode::kInvalidArgument);
  CHECK(misshapen.message().find("lora_A.weight has shape [8, 32]") != std::string::npos);
  CHECK(!target->lora().has_value());
  config["r"] = 8;
  config["use_dora"] = true;
  write_config(config);
  const absl::Status dora = LoadLoraAdapter(*target, dir);
  CHECK(dora.code() == absl::StatusCode::kInvalidArgument);
  CHECK(dora.message().find("use_dora") != std::string::npos);
  config["use_dora"] = false;
  config["peft_type"] = "IA3";
  write_config(config);
  CHECK(ReadLoraConfig(dir).status().message().find("peft_type") != std::string::npos);
  config["peft_type"] = "LORA";
  config["target_modules"] = "all-linear";
  write_config(config);
  auto all = ReadLoraConfig(dir);
  REQUIRE(all.ok());
  CHECK(all->target_modules == LoraTargetNames());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rein::model
