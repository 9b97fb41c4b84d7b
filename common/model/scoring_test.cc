#include "common/model/scoring.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>

#include <catch2/catch.hpp>

#include "common/model/testing/golden.h"

namespace rein::model {
namespace {

using testing::Golden;
using testing::MaxAbsDiff;

constexpr double kTolerance = 1e-5;

struct Loaded {
  Golden golden;
  std::unique_ptr<CausalLM> lm;
};

Loaded Load(const std::string& name, Heads heads = Heads::kAuto) {
  auto golden = testing::LoadGolden(name);
  REQUIRE(golden.ok());
  auto lm = CausalLM::Load(golden->dir, {.dtype = std::nullopt, .heads = heads});
  INFO(lm.status().ToString());
  REQUIRE(lm.ok());
  return {*std::move(golden), *std::move(lm)};
}

// The golden log-probs of row b as a tensor.
at::Tensor Expected(const Golden& g, size_t b) { return at::tensor(g.logprobs[b], at::kDouble); }

TEST_CASE("token log-probs of padded batches match transformers") {
  const std::string name = GENERATE(from_range(testing::GoldenModelNames()));
  Loaded m = Load(name);
  const Golden& g = m.golden;
  auto right = ScoreTokens(*m.lm, {.input_ids = g.input_ids, .attention_mask = g.attention_mask});
  REQUIRE(right.ok());
  auto left =
      ScoreTokens(*m.lm, {.input_ids = g.left_input_ids, .attention_mask = g.left_attention_mask});
  REQUIRE(left.ok());
  const int64_t steps = g.input_ids.size(1) - 1;
  for (size_t b = 0; b < g.lengths.size(); ++b) {
    const int64_t n = g.lengths[b] - 1;
    INFO(name << " row " << b);
    CHECK(MaxAbsDiff(right->logprobs[b].narrow(0, 0, n), Expected(g, b)) < kTolerance);
    CHECK(MaxAbsDiff(left->logprobs[b].narrow(0, steps - n, n), Expected(g, b)) < kTolerance);
    CHECK(right->valid[b].sum().item<int64_t>() == n);
    CHECK(left->valid[b].sum().item<int64_t>() == n);
    CHECK(right->logprobs[b].narrow(0, n, steps - n).count_nonzero().item<int64_t>() == 0);
    CHECK(std::abs(right->logprobs[b].sum().item<double>() - g.sum_logprob[b]) < 1e-4);
  }
}

TEST_CASE("ragged sequences score alike in any batching, packed or padded") {
  const std::string name = GENERATE(from_range(testing::GoldenModelNames()));
  Loaded m = Load(name);
  const Golden& g = m.golden;
  // The prompts, with a one-token sequence (nothing to score) after each.
  std::vector<std::vector<int64_t>> sequences;
  for (const std::vector<int64_t>& prompt : g.prompts) {
    sequences.push_back(prompt);
    sequences.push_back({7});
  }
  for (const bool pack : {true, false}) {
    for (int64_t budget : {1, 12, 100000}) {
      INFO(name << (pack ? " packed" : " padded") << ", budget " << budget);
      auto scored =
          ScoreSequences(*m.lm, sequences, {.max_batch_tokens = budget, .pack_sequences = pack});
      REQUIRE(scored.ok());
      REQUIRE(scored->size() == sequences.size());
      for (size_t b = 0; b < g.prompts.size(); ++b) {
        const std::vector<float>& got = (*scored)[2 * b];
        REQUIRE(got.size() == g.prompts[b].size() - 1);
        CHECK(MaxAbsDiff(at::tensor(got, at::kFloat), Expected(g, b)) < kTolerance);
        CHECK((*scored)[2 * b + 1].empty());
      }
    }
  }
  CHECK(ScoreSequences(*m.lm, {{1, 2}, {}}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("scoring asked to stop ends before its next forward pass") {
  Loaded m = Load("tiny-qwen2");
  // Budget 1: one sequence per forward pass, so there is a pass per prompt.
  const std::vector<std::vector<int64_t>>& sequences = m.golden.prompts;
  REQUIRE(sequences.size() >= 3);
  int asked = 0;
  ScoringOptions options{.max_batch_tokens = 1};
  options.keep_going = [&asked]() -> absl::Status {
    return ++asked < 2 ? absl::OkStatus() : absl::DeadlineExceededError("too late");
  };
  CHECK(ScoreSequences(*m.lm, sequences, options).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(asked == 2);
}

TEST_CASE("scalar values are padding-invariant and taken at the last real token") {
  Loaded m = Load("tiny-llama", Heads::kNone);
  REQUIRE(m.lm->AddScalarHead(3).ok());
  const Golden& g = m.golden;
  auto right = ScoreScalar(*m.lm, {.input_ids = g.input_ids, .attention_mask = g.attention_mask});
  auto left =
      ScoreScalar(*m.lm, {.input_ids = g.left_input_ids, .attention_mask = g.left_attention_mask});
  REQUIRE((right.ok() && left.ok()));
  const int64_t width = g.input_ids.size(1);
  for (size_t b = 0; b < g.prompts.size(); ++b) {
    const int64_t n = g.lengths[b];
    at::Tensor row = at::tensor(g.prompts[b], at::kLong).view({1, n});
    auto alone = ScoreScalar(*m.lm, {.input_ids = row});
    REQUIRE(alone.ok());
    CHECK(MaxAbsDiff(right->per_token[b].narrow(0, 0, n), alone->per_token[0]) < 1e-6);
    CHECK(MaxAbsDiff(left->per_token[b].narrow(0, width - n, n), alone->per_token[0]) < 1e-6);
    CHECK(std::abs(right->per_sequence[b].item<double>() -
                   alone->per_token[0][n - 1].item<double>()) < 1e-6);
    CHECK(std::abs(left->per_sequence[b].item<double>() - alone->per_sequence[0].item<double>()) <
          1e-6);
    CHECK(right->per_token[b].narrow(0, n, width - n).abs().sum().item<double>() == 0.0);
  }
  CHECK(ScoreTokens(*m.lm, {.input_ids = g.input_ids}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("log-probs and values from hidden states are differentiable") {
  Loaded m = Load("tiny-qwen3", Heads::kLm);
  REQUIRE(m.lm->AddScalarHead(5).ok());
  for (at::Tensor p : m.lm->Parameters()) p.requires_grad_(true);
  const Golden& g = m.golden;
  TokenBatch batch{.input_ids = g.input_ids, .attention_mask = g.attention_mask};
  REQUIRE(at::GradMode::is_enabled());
  auto hidden = m.lm->Hidden(batch);
  REQUIRE(hidden.ok());
  auto logprobs = LogProbsFromHidden(*m.lm, *hidden, batch);
  auto values = ScalarFromHidden(*m.lm, *hidden, batch);
  REQUIRE((logprobs.ok() && values.ok()));
  for (size_t b = 0; b < g.lengths.size(); ++b) {
    CHECK(MaxAbsDiff(logprobs->logprobs[b].narrow(0, 0, g.lengths[b] - 1).detach(),
                     Expected(g, b)) < kTolerance);
  }
  logprobs->logprobs.sum().add(values->per_sequence.sum()).backward();
  for (const at::Tensor& leaf : m.lm->Parameters()) {
    REQUIRE(leaf.grad().defined());
    CHECK(std::isfinite(leaf.grad().abs().sum().item<double>()));
    CHECK(leaf.grad().abs().sum().item<double>() > 0);
  }
}

}  // namespace
}  // namespace rein::model
