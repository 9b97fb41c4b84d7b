// Fidelity of every tiny checkpoint against golden outputs computed by a faithful port of
// transformers' modelling code (tests/data/models), plus loading errors, the KV cache and saving.
#include "common/model/causal_lm.h"

#include <ATen/Context.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "common/checkpoint/hf_checkpoint.h"
#include "common/model/testing/golden.h"
#include "common/testing/subprocess.h"

namespace rein::model {
namespace {

using testing::Golden;
using testing::LoadGolden;
using testing::MaxAbsDiff;

// README: planted porting bugs move logits by >= 1.6e-4.
constexpr double kLogitTolerance = 1e-5;

std::unique_ptr<CausalLM> LoadOrDie(const std::string& dir, const ModelOptions& options = {}) {
  auto lm = CausalLM::Load(dir, options);
  INFO(lm.status().ToString());
  REQUIRE(lm.ok());
  return *std::move(lm);
}

Golden GoldenOrDie(const std::string& name) {
  auto golden = LoadGolden(name);
  INFO(golden.status().ToString());
  REQUIRE(golden.ok());
  return *std::move(golden);
}

at::Tensor Row(const std::vector<int64_t>& ids) {
  return at::tensor(ids, at::kLong).view({1, static_cast<int64_t>(ids.size())});
}

TEST_CASE("logits of a right-padded batch match transformers") {
  const std::string name = GENERATE(from_range(testing::GoldenModelNames()));
  Golden g = GoldenOrDie(name);
  auto lm = LoadOrDie(g.dir);
  auto logits = lm->Logits({.input_ids = g.input_ids, .attention_mask = g.attention_mask});
  REQUIRE(logits.ok());
  REQUIRE(logits->size(2) == lm->config().vocab_size);
  for (size_t b = 0; b < g.lengths.size(); ++b) {
    const double diff = MaxAbsDiff((*logits)[b].narrow(0, 0, g.lengths[b]), g.logits[b]);
    INFO(name << " row " << b << " max |diff| " << diff);
    CHECK(diff < kLogitTolerance);
  }
}

TEST_CASE("packed sequences get the hidden states and logits of the padded batch") {
  const std::string name = GENERATE(from_range(testing::GoldenModelNames()));
  Golden g = GoldenOrDie(name);
  auto lm = LoadOrDie(g.dir);
  // The golden rows end to end, with no padding between them.
  std::vector<at::Tensor> rows;
  for (size_t b = 0; b < g.lengths.size(); ++b) {
    rows.push_back(g.input_ids[static_cast<int64_t>(b)].narrow(0, 0, g.lengths[b]));
  }
  auto packed = lm->HiddenPacked(at::cat(rows), g.lengths);
  INFO(packed.status().ToString());
  REQUIRE(packed.ok());
  auto padded = lm->Hidden({.input_ids = g.input_ids, .attention_mask = g.attention_mask});
  REQUIRE(padded.ok());
  auto logits = lm->LmLogits(*packed);
  REQUIRE(logits.ok());
  int64_t offset = 0;
  for (size_t b = 0; b < g.lengths.size(); ++b) {
    const int64_t n = g.lengths[b];
    const double hidden_diff = MaxAbsDiff(packed->narrow(0, offset, n),
                                          (*padded)[static_cast<int64_t>(b)].narrow(0, 0, n));
    const double logit_diff = MaxAbsDiff(logits->narrow(0, offset, n), g.logits[b]);
    INFO(name << " row " << b << ": max |hidden diff| " << hidden_diff << ", |logit diff| "
              << logit_diff);
    CHECK(hidden_diff < kLogitTolerance);
    CHECK(logit_diff < kLogitTolerance);
    offset += n;
  }
}

TEST_CASE("malformed packed sequences are INVALID_ARGUMENT") {
  auto lm = LoadOrDie(GoldenOrDie("tiny-llama").dir);
  const at::Tensor ids = at::tensor(std::vector<int64_t>{1, 2, 3, 4}, at::kLong);
  auto code = [&](const at::Tensor& t, const std::vector<int64_t>& lengths) {
    return lm->HiddenPacked(t, lengths).status().code();
  };
  CHECK(code(ids, {2, 2}) == absl::StatusCode::kOk);
  CHECK(code(ids, {2, 1}) == absl::StatusCode::kInvalidArgument);  // lengths do not add up
  CHECK(code(ids, {4, 0}) == absl::StatusCode::kInvalidArgument);  // an empty sequence
  CHECK(code(ids.view({1, 4}), {4}) == absl::StatusCode::kInvalidArgument);
  CHECK(code(at::tensor(std::vector<int64_t>{1, 5000}, at::kLong), {2}) ==
        absl::StatusCode::kInvalidArgument);  // outside the vocabulary
  CHECK(code(at::Tensor(), {}) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("left padding and batching never change a real position") {
  const std::string name = GENERATE(from_range(testing::GoldenModelNames()));
  Golden g = GoldenOrDie(name);
  auto lm = LoadOrDie(g.dir);
  const int64_t t = g.left_input_ids.size(1);
  // As the golden file gives the positions, and with the default (cumsum of the mask).
  for (bool explicit_positions : {true, false}) {
    TokenBatch batch{.input_ids = g.left_input_ids, .attention_mask = g.left_attention_mask};
    if (explicit_positions) batch.position_ids = g.left_position_ids;
    auto logits = lm->Logits(batch);
    REQUIRE(logits.ok());
    for (size_t b = 0; b < g.lengths.size(); ++b) {
      const double diff =
          MaxAbsDiff((*logits)[b].narrow(0, t - g.lengths[b], g.lengths[b]), g.logits[b]);
      INFO(name << " row " << b << " explicit positions " << explicit_positions);
      CHECK(diff < kLogitTolerance);
    }
  }
  for (size_t b = 0; b < g.prompts.size(); ++b) {
    auto alone = lm->Logits({.input_ids = Row(g.prompts[b])});
    REQUIRE(alone.ok());
    CHECK(MaxAbsDiff((*alone)[0], g.logits[b]) < kLogitTolerance);
  }
}

TEST_CASE("log-probs and greedy continuations (full recompute) match transformers") {
  const std::string name = GENERATE(from_range(testing::GoldenModelNames()));
  Golden g = GoldenOrDie(name);
  auto lm = LoadOrDie(g.dir);
  for (size_t b = 0; b < g.prompts.size(); ++b) {
    auto logits = lm->Logits({.input_ids = Row(g.prompts[b])});
    REQUIRE(logits.ok());
    at::Tensor logprobs = at::log_softmax((*logits)[0], -1);
    for (size_t t = 0; t + 1 < g.prompts[b].size(); ++t) {
      const double got = logprobs[static_cast<int64_t>(t)][g.prompts[b][t + 1]].item<double>();
      CHECK(std::abs(got - g.logprobs[b][t]) < kLogitTolerance);
    }
    std::vector<int64_t> sequence = g.prompts[b];
    std::vector<int64_t> generated;
    for (size_t step = 0; step < g.greedy[b].size(); ++step) {
      auto step_logits = lm->Logits({.input_ids = Row(sequence)});
      REQUIRE(step_logits.ok());
      const int64_t next = (*step_logits)[0][-1].argmax().item<int64_t>();
      generated.push_back(next);
      sequence.push_back(next);
    }
    INFO(name << " prompt " << b);
    CHECK(generated == g.greedy[b]);
  }
}

TEST_CASE("the KV cache gives the logits of a full forward") {
  const std::string name = GENERATE(from_range(testing::GoldenModelNames()));
  Golden g = GoldenOrDie(name);
  auto lm = LoadOrDie(g.dir);
  c10::InferenceMode inference;
  const int64_t rows = static_cast<int64_t>(g.lengths.size());
  auto cache = lm->NewKvCache(rows + 1, 32);
  REQUIRE(cache.ok());
  // Rows use slots 1..rows; prefill about half of each row, then one token per step.
  std::vector<int64_t> prefill(g.lengths.size());
  int64_t longest = 0;
  for (size_t b = 0; b < prefill.size(); ++b) {
    prefill[b] = std::max<int64_t>(1, g.lengths[b] / 2);
    longest = std::max(longest, prefill[b]);
  }
  at::Tensor positions = at::arange(longest, at::kLong).expand({rows, longest}).contiguous();
  auto hidden = lm->HiddenCached({.input_ids = g.input_ids.narrow(1, 0, longest),
                                  .position_ids = positions,
                                  .cache_lengths = at::zeros({rows}, at::kLong),
                                  .first_slot = 1},
                                 **cache);
  REQUIRE(hidden.ok());
  std::vector<std::vector<at::Tensor>> got(g.lengths.size());
  for (int64_t b = 0; b < rows; ++b) {
    for (int64_t t = 0; t < prefill[b]; ++t) got[b].push_back(*lm->LmLogits((*hidden)[b][t]));
  }
  for (int64_t step = 0; step < g.input_ids.size(1); ++step) {
    std::vector<int64_t> ids, pos, lengths;
    for (int64_t b = 0; b < rows; ++b) {
      const int64_t p = prefill[b] + step;
      ids.push_back(p < g.lengths[b] ? g.input_ids[b][p].item<int64_t>() : 0);
      pos.push_back(p);
      lengths.push_back(p);
    }
    auto out = lm->HiddenCached({.input_ids = at::tensor(ids, at::kLong).view({rows, 1}),
                                 .position_ids = at::tensor(pos, at::kLong).view({rows, 1}),
                                 .cache_lengths = at::tensor(lengths, at::kLong),
                                 .first_slot = 1},
                                **cache);
    REQUIRE(out.ok());
    for (int64_t b = 0; b < rows; ++b) {
      if (prefill[b] + step < g.lengths[b]) got[b].push_back(*lm->LmLogits((*out)[b][0]));
    }
  }
  for (int64_t b = 0; b < rows; ++b) {
    REQUIRE(static_cast<int64_t>(got[b].size()) == g.lengths[b]);
    INFO(name << " row " << b);
    CHECK(MaxAbsDiff(at::stack(got[b]), g.logits[b]) < kLogitTolerance);
  }
}

TEST_CASE("missing, unexpected and misshapen tensors are errors naming them") {
  Golden g = GoldenOrDie("tiny-llama");
  auto ckpt = checkpoint::LoadHfCheckpoint(g.dir);
  REQUIRE(ckpt.ok());
  {
    checkpoint::HfCheckpoint missing = *ckpt;
    missing.tensors.erase("model.norm.weight");
    auto lm = CausalLM::FromCheckpoint(missing);
    REQUIRE(lm.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(lm.status().message()), Catch::Contains("model.norm.weight"));
  }
  {
    checkpoint::HfCheckpoint extra = *ckpt;
    extra.tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = at::zeros({8});
    auto lm = CausalLM::FromCheckpoint(extra);
    REQUIRE(lm.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(lm.status().message()), Catch::Contains("rotary_emb.inv_freq"));
  }
  {
    checkpoint::HfCheckpoint misshapen = *ckpt;
    misshapen.tensors["lm_head.weight"] = at::zeros({999, 64});
    auto lm = CausalLM::FromCheckpoint(misshapen);
    REQUIRE(lm.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(lm.status().message()),
               Catch::Contains("lm_head.weight") && Catch::Contains("[999, 64]"));
  }
  {
    checkpoint::HfCheckpoint unknown = *ckpt;
    unknown.config["model_type"] = "bert";
    CHECK(CausalLM::FromCheckpoint(unknown).status().code() == absl::StatusCode::kUnimplemented);
    unknown.config["model_type"] = "llama";
    unknown.config["num_attention_heads"] = "four";
    auto lm = CausalLM::FromCheckpoint(unknown);
    CHECK_THAT(std::string(lm.status().message()), Catch::Contains("num_attention_heads"));
  }
}

TEST_CASE("bad inputs are INVALID_ARGUMENT, not crashes") {
  auto lm = LoadOrDie(GoldenOrDie("tiny-gpt2").dir);
  auto code = [](const auto& result) { return result.status().code(); };
  CHECK(code(lm->Logits({.input_ids = Row({1, 1000})})) == absl::StatusCode::kInvalidArgument);
  CHECK(code(lm->Logits({.input_ids = Row({-1})})) == absl::StatusCode::kInvalidArgument);
  CHECK(code(lm->Logits({.input_ids = at::zeros({2}, at::kLong)})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code(lm->Logits({.input_ids = at::zeros({1, 2}, at::kFloat)})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code(lm->Logits({.input_ids = Row({1, 2}), .position_ids = Row({0, 128})})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code(lm->ScalarValues(at::zeros({1, 64}))) == absl::StatusCode::kFailedPrecondition);
  CHECK(code(lm->NewKvCache(1, 129)) == absl::StatusCode::kInvalidArgument);
  auto cache = lm->NewKvCache(2, 8);
  REQUIRE(cache.ok());
  CachedBatch too_long{.input_ids = at::zeros({1, 9}, at::kLong),
                       .position_ids = at::zeros({1, 9}, at::kLong),
                       .cache_lengths = at::zeros({1}, at::kLong)};
  CHECK(code(lm->HiddenCached(too_long, **cache)) == absl::StatusCode::kInvalidArgument);
  CachedBatch bad_slot{.input_ids = at::zeros({1, 1}, at::kLong),
                       .position_ids = at::zeros({1, 1}, at::kLong),
                       .cache_lengths = at::zeros({1}, at::kLong),
                       .first_slot = 2};
  CHECK(code(lm->HiddenCached(bad_slot, **cache)) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("legacy GPT-2 names load and are reported with transformer. prefix") {
  auto lm = LoadOrDie(GoldenOrDie("tiny-gpt2-legacy-names").dir);
  bool found = false;
  for (const auto& [name, tensor] : lm->NamedParameters()) {
    CHECK(name.rfind("transformer.", 0) == 0);
    found = found || name == "transformer.h.1.attn.c_attn.weight";
  }
  CHECK(found);
}

TEST_CASE("saved folders reload with the same outputs, scalar head as score.weight") {
  Golden g = GoldenOrDie("tiny-qwen3");
  auto policy = LoadOrDie(g.dir);
  const std::string dir = rein::testing::MakeTempDir("rein-model-save");
  REQUIRE(policy->Save(dir + "/policy").ok());
  auto reloaded = LoadOrDie(dir + "/policy");
  CHECK(MaxAbsDiff(*policy->Logits({.input_ids = g.input_ids}),
                   *reloaded->Logits({.input_ids = g.input_ids})) == 0.0);

  auto critic = LoadOrDie(g.dir, {.dtype = std::nullopt, .heads = Heads::kNone});
  CHECK_FALSE(critic->has_lm_head());
  REQUIRE(critic->AddScalarHead(/*seed=*/7).ok());
  CHECK(critic->AddScalarHead(7).code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(critic->Save(dir + "/critic").ok());
  auto ckpt = checkpoint::LoadHfCheckpoint(dir + "/critic");
  REQUIRE(ckpt.ok());
  CHECK(ckpt->tensors.count("score.weight") == 1);
  CHECK(ckpt->tensors.count("lm_head.weight") == 0);
  CHECK(ckpt->config["architectures"][0] == "Qwen3ForSequenceClassification");
  auto critic2 = LoadOrDie(dir + "/critic");
  CHECK(critic2->has_scalar_head());
  CHECK_FALSE(critic2->has_lm_head());
  at::Tensor h1 = *critic->Hidden({.input_ids = g.input_ids});
  at::Tensor h2 = *critic2->Hidden({.input_ids = g.input_ids});
  CHECK(MaxAbsDiff(*critic->ScalarValues(h1), *critic2->ScalarValues(h2)) == 0.0);
  std::filesystem::remove_all(dir);
}

nlohmann::json SmallConfig(const std::string& model_type) {
  return {{"model_type", model_type}, {"vocab_size", 64},
          {"hidden_size", 32},        {"intermediate_size", 48},
          {"num_hidden_layers", 2},   {"num_attention_heads", 4},
          {"num_key_value_heads", 2}, {"max_position_embeddings", 64},
          {"initializer_range", 0.2}};
}

TEST_CASE("linear RoPE scaling by 2 at position 2p is plain RoPE at p") {
  nlohmann::json scaled = SmallConfig("llama");
  scaled["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  auto plain = CausalLM::CreateRandom(SmallConfig("llama"), 4);
  auto stretched = CausalLM::CreateRandom(scaled, 4);
  REQUIRE((plain.ok() && stretched.ok()));
  at::Tensor ids = Row({3, 1, 4, 1, 5, 9, 2, 6});
  at::Tensor positions = at::arange(8, at::kLong).view({1, 8});
  auto a = (*plain)->Logits({.input_ids = ids, .position_ids = positions});
  auto b = (*stretched)->Logits({.input_ids = ids, .position_ids = positions.mul(2)});
  auto c = (*stretched)->Logits({.input_ids = ids, .position_ids = positions});
  CHECK(MaxAbsDiff(*a, *b) < 1e-6);
  CHECK(MaxAbsDiff(*a, *c) > 1e-4);
}

TEST_CASE("mistral's sliding window hides keys beyond it, with and without the cache") {
  nlohmann::json config = SmallConfig("mistral");
  config["sliding_window"] = 3;
  config["num_hidden_layers"] = 1;  // One layer: position t sees exactly tokens t-2..t.
  auto lm = CausalLM::CreateRandom(config, 5);
  REQUIRE(lm.ok());
  at::Tensor a = Row({3, 1, 4, 1, 5, 9, 2, 6, 5, 3});
  at::Tensor b = Row({7, 7, 7, 7, 7, 7, 7, 6, 5, 3});  // Differs only before position 7.
  at::Tensor la = *(*lm)->Logits({.input_ids = a}), lb = *(*lm)->Logits({.input_ids = b});
  CHECK(MaxAbsDiff(la[0][9], lb[0][9]) < 1e-6);
  CHECK(MaxAbsDiff(la[0][8], lb[0][8]) > 1e-4);
  c10::InferenceMode inference;
  auto cache = (*lm)->NewKvCache(1, 16);
  REQUIRE(cache.ok());
  auto prefill = (*lm)->HiddenCached({.input_ids = a.narrow(1, 0, 6),
                                      .position_ids = at::arange(6, at::kLong).view({1, 6}),
                                      .cache_lengths = at::zeros({1}, at::kLong)},
                                     **cache);
  REQUIRE(prefill.ok());
  for (int64_t t = 6; t < 10; ++t) {
    auto step = (*lm)->HiddenCached({.input_ids = a.narrow(1, t, 1),
                                     .position_ids = at::full({1, 1}, t, at::kLong),
                                     .cache_lengths = at::full({1}, t, at::kLong)},
                                    **cache);
    REQUIRE(step.ok());
    CHECK(MaxAbsDiff(*(*lm)->LmLogits((*step)[0][0]), la[0][t]) < 1e-5);
  }
}

TEST_CASE("random models are deterministic in the seed") {
  const nlohmann::json config = {{"model_type", "llama"},    {"vocab_size", 64},
                                 {"hidden_size", 32},        {"intermediate_size", 48},
                                 {"num_hidden_layers", 2},   {"num_attention_heads", 4},
                                 {"num_key_value_heads", 2}, {"max_position_embeddings", 64}};
  auto a = CausalLM::CreateRandom(config, 1);
  auto b = CausalLM::CreateRandom(config, 1);
  auto c = CausalLM::CreateRandom(config, 2);
  REQUIRE((a.ok() && b.ok() && c.ok()));
  at::Tensor ids = Row({1, 2, 3});
  CHECK(MaxAbsDiff(*(*a)->Logits({.input_ids = ids}), *(*b)->Logits({.input_ids = ids})) == 0);
  CHECK(MaxAbsDiff(*(*a)->Logits({.input_ids = ids}), *(*c)->Logits({.input_ids = ids})) > 0);
}

// Debian's LibTorch is CPU-only: a CUDA model there is an error to report, not an abort.
TEST_CASE("a model on a CUDA device that this build cannot use is an error, not an abort") {
  CHECK(CheckDeviceUsable(c10::Device(c10::kCPU)).ok());
  if (at::hasCUDA()) {
    const auto gpus = static_cast<c10::DeviceIndex>(at::getNumGPUs());
    CHECK(CheckDeviceUsable(c10::Device(c10::kCUDA, gpus)).code() ==
          absl::StatusCode::kFailedPrecondition);
    return;
  }
  const absl::Status cuda = CheckDeviceUsable(c10::Device(c10::kCUDA, 0));
  CHECK(cuda.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(cuda.message()), Catch::Contains("no CUDA support"));
  ModelOptions options;
  options.device = c10::Device(c10::kCUDA, 0);
  auto lm = CausalLM::CreateRandom(SmallConfig("llama"), 1, options);
  CHECK(lm.status().code() == absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace rein::model
