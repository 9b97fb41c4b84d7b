#include "common/model/generator.h"

#include <ATen/ops/log_softmax.h>
#include <ATen/ops/tensor.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "common/model/internal/sampler.h"
#include "common/model/testing/golden.h"

namespace rein::model {
namespace {

std::vector<GenerationRequest> Requests(const std::vector<std::vector<int64_t>>& prompts) {
  std::vector<GenerationRequest> requests;
  for (size_t i = 0; i < prompts.size(); ++i) requests.push_back({prompts[i], 100 + i});
  return requests;
}

std::vector<GenerationResult> GenerateOrDie(const CausalLM& lm, const GeneratorOptions& options,
                                            const std::vector<GenerationRequest>& requests,
                                            const GenerateOptions& generate) {
  auto generator = Generator::Create(lm, options);
  REQUIRE(generator.ok());
  auto results = (*generator)->Generate(requests, generate);
  INFO(results.status().ToString());
  REQUIRE(results.ok());
  return *std::move(results);
}

const GenerateOptions kGreedy8{
    .sampling = {.temperature = 0.0f}, .max_new_tokens = 8, .stop_at_eos = false};

TEST_CASE("greedy generation matches transformers with and without cache, in any batching") {
  const std::string name = GENERATE(from_range(testing::GoldenModelNames()));
  auto g = testing::LoadGolden(name);
  REQUIRE(g.ok());
  auto lm = CausalLM::Load(g->dir);
  REQUIRE(lm.ok());
  std::vector<std::vector<float>> reference_logprobs;
  for (bool cache : {false, true}) {
    for (int64_t batch : {1, 2, 8}) {  // 1 and 2 refill slots as requests finish.
      auto results = GenerateOrDie(
          **lm, {.max_batch_size = batch, .max_sequence_length = 64, .use_kv_cache = cache},
          Requests(g->prompts), kGreedy8);
      REQUIRE(results.size() == g->prompts.size());
      for (size_t b = 0; b < results.size(); ++b) {
        INFO(name << " cache " << cache << " batch " << batch << " prompt " << b);
        CHECK(results[b].output_ids == g->greedy[b]);
        CHECK(results[b].finish_reason == FinishReason::kLength);
        if (reference_logprobs.size() < results.size()) {
          reference_logprobs.push_back(results[b].logprobs);
        } else {
          CHECK(testing::MaxAbsDiff(at::tensor(results[b].logprobs, at::kFloat),
                                    at::tensor(reference_logprobs[b], at::kFloat)) < 1e-5);
        }
      }
    }
  }
  // The greedy log-prob is the model's: log_softmax of a full forward at that position.
  std::vector<int64_t> sequence = g->prompts[0];
  sequence.insert(sequence.end(), g->greedy[0].begin(), g->greedy[0].end());
  auto logits = (*lm)->Logits({.input_ids = at::tensor(sequence, at::kLong).view({1, -1})});
  REQUIRE(logits.ok());
  at::Tensor logp = at::log_softmax((*logits)[0], -1);
  for (size_t i = 0; i < g->greedy[0].size(); ++i) {
    const int64_t t = static_cast<int64_t>(g->prompts[0].size() + i) - 1;
    CHECK(std::abs(logp[t][g->greedy[0][i]].item<double>() - reference_logprobs[0][i]) < 1e-5);
  }
}

TEST_CASE("stop tokens end a request, which keeps its stop token") {
  auto g = testing::LoadGolden("tiny-llama");
  REQUIRE(g.ok());
  auto lm = CausalLM::Load(g->dir);
  REQUIRE(lm.ok());
  const int64_t stop = g->greedy[0][2];
  GenerateOptions options = kGreedy8;
  options.stop_token_ids = {stop};
  auto results = GenerateOrDie(**lm, {.max_batch_size = 2}, Requests(g->prompts), options);
  for (size_t b = 0; b < results.size(); ++b) {
    std::vector<int64_t> expected = g->greedy[b];
    auto it = std::find(expected.begin(), expected.end(), stop);
    const bool stops = it != expected.end();
    if (stops) expected.erase(it + 1, expected.end());
    CHECK(results[b].output_ids == expected);
    CHECK(results[b].logprobs.size() == expected.size());
    CHECK(results[b].finish_reason == (stops ? FinishReason::kStop : FinishReason::kLength));
  }
}

std::unique_ptr<CausalLM> SmallRandomModel() {
  const nlohmann::json config = {{"model_type", "qwen2"},    {"vocab_size", 64},
                                 {"hidden_size", 32},        {"intermediate_size", 48},
                                 {"num_hidden_layers", 2},   {"num_attention_heads", 4},
                                 {"num_key_value_heads", 2}, {"max_position_embeddings", 128},
                                 {"initializer_range", 0.5}, {"eos_token_id", 63}};
  auto lm = CausalLM::CreateRandom(config, 11);
  REQUIRE(lm.ok());
  return *std::move(lm);
}

// Issue 14: a 0.6B rollout preallocated capacity x (max prompt + max new) of cache, ~GiBs that
// small calls never touch. The cache now holds what a call needs and is reused by calls of the
// same shape; the results do not depend on what the cache held before.
TEST_CASE("the KV cache is sized by each call, not by max_batch_size x max_sequence_length") {
  auto lm = SmallRandomModel();
  auto generator = Generator::Create(*lm, {.max_batch_size = 16, .max_sequence_length = 512});
  REQUIRE(generator.ok());
  CHECK((*generator)->cache_bytes() == 0);
  const std::vector<GenerationRequest> small = Requests({{1, 2, 3}, {4, 5}});
  auto first = (*generator)->Generate(small, kGreedy8);
  REQUIRE(first.ok());
  const int64_t small_bytes = (*generator)->cache_bytes();
  // 2 slots x (3 + 8 - 1) positions, against 16 x 512 for the worst case.
  auto worst = lm->NewKvCache(16, 512);
  REQUIRE(worst.ok());
  CHECK(small_bytes * 16 * 512 == (*worst)->bytes() * 2 * 10);
  // A bigger call grows it; a same-shaped call reuses it; a much smaller one shrinks it.
  std::vector<std::vector<int64_t>> prompts(8, std::vector<int64_t>(40, 7));
  REQUIRE((*generator)->Generate(Requests(prompts), kGreedy8).ok());
  const int64_t big_bytes = (*generator)->cache_bytes();
  CHECK(big_bytes == small_bytes * (8 * 47) / (2 * 10));
  REQUIRE((*generator)->Generate(Requests(prompts), kGreedy8).ok());
  CHECK((*generator)->cache_bytes() == big_bytes);
  auto again = (*generator)->Generate(small, kGreedy8);
  REQUIRE(again.ok());
  CHECK((*generator)->cache_bytes() == small_bytes);
  for (size_t i = 0; i < small.size(); ++i) CHECK((*again)[i].output_ids == (*first)[i].output_ids);
}

TEST_CASE("a request's samples depend on its seed, not on its batch") {
  auto lm = SmallRandomModel();
  std::vector<GenerationRequest> requests;
  for (uint64_t i = 0; i < 9; ++i) {
    std::vector<int64_t> prompt;
    for (uint64_t t = 0; t < 1 + (i * 5) % 11; ++t)
      prompt.push_back(static_cast<int64_t>((i * 7 + t * 3) % 60));
    requests.push_back({prompt, 1000 + i % 4});  // Some requests share a seed.
  }
  const GenerateOptions options{.sampling = {.temperature = 0.9f, .top_k = 40, .top_p = 0.95f},
                                .max_new_tokens = 12};
  auto all =
      GenerateOrDie(*lm, {.max_batch_size = 4, .max_sequence_length = 32}, requests, options);
  auto wide =
      GenerateOrDie(*lm, {.max_batch_size = 16, .max_sequence_length = 32}, requests, options);
  bool any_stop = false;
  for (size_t i = 0; i < requests.size(); ++i) {
    auto alone = GenerateOrDie(*lm, {.max_batch_size = 1, .max_sequence_length = 32}, {requests[i]},
                               options);
    INFO("request " << i);
    CHECK(all[i].output_ids == alone[0].output_ids);
    CHECK(wide[i].output_ids == alone[0].output_ids);
    CHECK(all[i].finish_reason == alone[0].finish_reason);
    // Batch shapes change the GEMM kernels, so logits differ in the last bits; this random
    // model's large weights amplify that to ~1e-5 in the log-probs, never in the samples.
    CHECK(testing::MaxAbsDiff(at::tensor(all[i].logprobs, at::kFloat),
                              at::tensor(alone[0].logprobs, at::kFloat)) < 1e-4);
    any_stop = any_stop || all[i].finish_reason == FinishReason::kStop;
  }
  // Same prompt and seed: same output; another seed: (almost surely) another output.
  auto again =
      GenerateOrDie(*lm, {.max_batch_size = 4, .max_sequence_length = 32}, requests, options);
  CHECK(again[3].output_ids == all[3].output_ids);
  std::vector<GenerationRequest> reseeded = {{requests[3].prompt, 77}};
  auto other =
      GenerateOrDie(*lm, {.max_batch_size = 1, .max_sequence_length = 32}, reseeded, options);
  CHECK(other[0].output_ids != all[3].output_ids);
}

TEST_CASE("samples follow the model's distribution, and log-probs are those sampled from") {
  auto lm = SmallRandomModel();
  const std::vector<int64_t> prompt = {5, 9, 2};
  auto logits = lm->Logits({.input_ids = at::tensor(prompt, at::kLong).view({1, -1})});
  REQUIRE(logits.ok());
  at::Tensor logp = at::log_softmax((*logits)[0][-1], -1);
  std::vector<GenerationRequest> requests;
  for (uint64_t i = 0; i < 4000; ++i) requests.push_back({prompt, i});
  auto results = GenerateOrDie(*lm, {.max_batch_size = 64, .max_sequence_length = 8}, requests,
                               {.max_new_tokens = 1, .stop_at_eos = false});
  std::map<int64_t, int> counts;
  for (const GenerationResult& r : results) {
    ++counts[r.output_ids[0]];
    CHECK(std::abs(r.logprobs[0] - logp[r.output_ids[0]].item<float>()) < 1e-5);
  }
  for (int64_t token = 0; token < 64; ++token) {
    const double expected = std::exp(logp[token].item<double>());
    const double observed = counts[token] / 4000.0;
    INFO("token " << token << " p " << expected << " observed " << observed);
    CHECK(std::abs(observed - expected) < 4 * std::sqrt(expected * (1 - expected) / 4000) + 1e-3);
  }
}

TEST_CASE("top-k and top-p renormalise over the tokens they keep") {
  // Probabilities 0.5, 0.3, 0.15, 0.05.
  at::Tensor logits =
      at::tensor({std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)}, at::kFloat)
          .view({1, 4});
  auto sample = [&](SamplingParams params, double u) {
    int64_t token = -1;
    float logprob = 0;
    internal::SampleRows(logits, params, &u, &token, &logprob);
    return std::make_pair(token, logprob);
  };
  const SamplingParams top_p{.top_p = 0.7f};  // Keeps 0.5 and 0.3: 0.625 / 0.375.
  CHECK(sample(top_p, 0.6).first == 0);
  CHECK(sample(top_p, 0.6).second == Approx(std::log(0.625)).epsilon(1e-5));
  CHECK(sample(top_p, 0.99).first == 1);
  CHECK(sample(top_p, 0.99).second == Approx(std::log(0.375)).epsilon(1e-5));
  const SamplingParams top_k{.top_k = 3};  // 0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95.
  CHECK(sample(top_k, 0.999).first == 2);
  CHECK(sample(top_k, 0.999).second == Approx(std::log(0.15 / 0.95)).epsilon(1e-5));
  CHECK(sample({.temperature = 1.0f}, 0.999).first == 3);
  CHECK(sample({.temperature = 1.0f, .top_k = 1}, 0.999) == std::make_pair(int64_t{0}, 0.0f));
  CHECK(sample({.temperature = 0.0f}, 0.999).second == Approx(std::log(0.5)).epsilon(1e-5));
  // u at the top of [0, 1) never picks a token outside the kept set.
  CHECK(sample(top_p, 1.0 - 0x1.0p-24).first == 1);
  CHECK(internal::Uniform(1, 2) == internal::Uniform(1, 2));
  CHECK(internal::Uniform(1, 2) != internal::Uniform(1, 3));
}

// A padded embedding matrix (Qwen's 151936 rows for 151669 tokens): ids past the tokenizer
// are never sampled, whatever the model says of them.
TEST_CASE("ids past the sampleable vocabulary never come out") {
  auto lm = SmallRandomModel();
  const int64_t vocab = lm->config().vocab_size;
  const int64_t sampleable = vocab / 4;
  std::vector<GenerationRequest> requests;
  for (uint64_t i = 0; i < 8; ++i) requests.push_back({{1, 2, 3}, 500 + i});
  for (const SamplingParams& sampling :
       {SamplingParams{.temperature = 1.5f}, SamplingParams{.temperature = 0.0f},
        SamplingParams{.temperature = 1.0f, .top_p = 0.95f}}) {
    const auto results = GenerateOrDie(
        *lm, {.max_batch_size = 8, .max_sequence_length = 32, .sampleable_vocab_size = sampleable},
        requests, {.sampling = sampling, .max_new_tokens = 12, .stop_at_eos = false});
    for (const GenerationResult& r : results) {
      REQUIRE(r.output_ids.size() == 12);
      for (int64_t id : r.output_ids) CHECK(id < sampleable);
      for (float logprob : r.logprobs) CHECK(logprob <= 0.0f);
    }
  }
  CHECK(Generator::Create(*lm, {.sampleable_vocab_size = vocab + 1}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a generation asked to stop ends within one step, and the next one is unharmed") {
  auto lm = SmallRandomModel();
  auto generator = Generator::Create(*lm, {.max_batch_size = 4, .max_sequence_length = 32});
  REQUIRE(generator.ok());
  std::vector<GenerationRequest> requests;
  for (uint64_t i = 0; i < 10; ++i) requests.push_back({{1, 2, 3, static_cast<int64_t>(i)}, i});
  const GenerateOptions plain{.max_new_tokens = 20, .stop_at_eos = false};
  const std::vector<GenerationResult> expected = GenerateOrDie(
      *lm, {.max_batch_size = 4, .max_sequence_length = 32}, requests, plain);

  // 10 requests in 4 slots for 20 tokens each take dozens of steps; the third check says stop.
  int asked = 0;
  GenerateOptions stopping = plain;
  stopping.keep_going = [&asked]() -> absl::Status {
    return ++asked < 3 ? absl::OkStatus() : absl::CancelledError("nobody waits");
  };
  auto stopped = (*generator)->Generate(requests, stopping);
  CHECK(stopped.status().code() == absl::StatusCode::kCancelled);
  CHECK(asked == 3);

  // The stopped run's cache slots are reused; the next generation matches a fresh generator.
  auto again = (*generator)->Generate(requests, plain);
  REQUIRE(again.ok());
  REQUIRE(again->size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) CHECK((*again)[i].output_ids == expected[i].output_ids);
}

TEST_CASE("bad requests and options are INVALID_ARGUMENT") {
  auto lm = SmallRandomModel();
  auto generator = Generator::Create(*lm, {.max_batch_size = 2, .max_sequence_length = 16});
  REQUIRE(generator.ok());
  auto code = [&](const std::vector<GenerationRequest>& requests, const GenerateOptions& options) {
    return (*generator)->Generate(requests, options).status().code();
  };
  const GenerateOptions ok{.max_new_tokens = 4};
  CHECK(code({{{}, 0}}, ok) == absl::StatusCode::kInvalidArgument);
  CHECK(code({{{64}, 0}}, ok) == absl::StatusCode::kInvalidArgument);
  CHECK(code({{std::vector<int64_t>(14, 1), 0}}, ok) == absl::StatusCode::kInvalidArgument);
  CHECK(code({{{1}, 0}}, {.sampling = {.top_p = 0.0f}}) == absl::StatusCode::kInvalidArgument);
  CHECK(code({{{1}, 0}}, {.sampling = {.temperature = -1.0f}}) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code({{{1}, 0}}, {.max_new_tokens = 0}) == absl::StatusCode::kInvalidArgument);
  CHECK(code({{std::vector<int64_t>(13, 1), 0}}, ok) == absl::StatusCode::kOk);
  CHECK(Generator::Create(*lm, {.max_batch_size = 0}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::model
