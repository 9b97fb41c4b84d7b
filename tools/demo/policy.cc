#include "tools/demo/policy.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/model/generator.h"
#include "common/model/scoring.h"
#include "common/status/status_macros.h"

namespace rein::demo {

absl::StatusOr<std::unique_ptr<model::CausalLM>> LoadModel(const std::string& dir,
                                                           model::Heads heads,
                                                           absl::string_view what) {
  absl::StatusOr<std::unique_ptr<model::CausalLM>> lm = model::CausalLM::Load(dir, {.heads = heads});
  if (!lm.ok()) {
    return absl::Status(lm.status().code(), absl::StrCat("cannot load ", what, " from ", dir,
                                                         ": ", lm.status().message()));
  }
  return lm;
}

absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> LoadTokenizer(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> tok =
      tokenizer::Tokenizer::FromDirectory(dir);
  if (!tok.ok()) {
    return absl::Status(tok.status().code(), absl::StrCat("cannot load the tokenizer from ", dir,
                                                          ": ", tok.status().message()));
  }
  if (!(*tok)->special_ids().eos.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the tokenizer in ", dir, " names no eos_token (tokenizer_config.json)"));
  }
  return tok;
}

absl::StatusOr<TokenIds> EncodeText(const tokenizer::Tokenizer& tokenizer,
                                    absl::string_view text) {
  ASSIGN_OR_RETURN(std::vector<tokenizer::TokenId> ids, tokenizer.Encode(text));
  return TokenIds(ids.begin(), ids.end());
}

absl::StatusOr<std::vector<Sample>> SampleResponses(const model::CausalLM& policy,
                                                    const tokenizer::Tokenizer& tokenizer,
                                                    const std::vector<TokenIds>& prompts,
                                                    const std::vector<uint64_t>& seeds,
                                                    const SampleOptions& options) {
  if (prompts.size() != seeds.size()) {
    return absl::InvalidArgumentError("SampleResponses: one seed per prompt");
  }
  size_t longest = 1;
  for (const TokenIds& prompt : prompts) longest = std::max(longest, prompt.size());
  at::NoGradGuard no_grad;
  ASSIGN_OR_RETURN(
      std::unique_ptr<model::Generator> generator,
      model::Generator::Create(
          policy, {.max_batch_size = options.batch_size,
                   .max_sequence_length = static_cast<int64_t>(longest) + options.max_new_tokens}));
  std::vector<model::GenerationRequest> requests;
  requests.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) requests.push_back({prompts[i], seeds[i]});
  ASSIGN_OR_RETURN(std::vector<model::GenerationResult> results,
                   generator->Generate(requests, {.sampling = {.temperature = options.temperature},
                                                  .max_new_tokens = options.max_new_tokens}));
  tokenizer::DecodeOptions decode;
  decode.skip_special_tokens = true;
  std::vector<Sample> samples;
  samples.reserve(results.size());
  for (model::GenerationResult& result : results) {
    Sample sample;
    // Ids beyond the tokenizer (the embedding is padded) decode as an unknown word.
    std::vector<tokenizer::TokenId> run;
    auto flush = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string text, tokenizer.Decode(run, decode));
      sample.text += text;
      run.clear();
      return absl::OkStatus();
    };
    for (int64_t id : result.output_ids) {
      const auto token = static_cast<tokenizer::TokenId>(id);
      if (tokenizer.IsValidId(token)) {
        run.push_back(token);
        continue;
      }
      RETURN_IF_ERROR(flush());
      sample.text += " <unk>";
    }
    RETURN_IF_ERROR(flush());
    sample.output_ids = std::move(result.output_ids);
    samples.push_back(std::move(sample));
  }
  return samples;
}

absl::StatusOr<std::vector<double>> ScoreSequencesScalar(const model::CausalLM& reward_model,
                                                         const std::vector<TokenIds>& sequences) {
  constexpr size_t kRows = 64;
  at::NoGradGuard no_grad;
  std::vector<double> scores;
  scores.reserve(sequences.size());
  for (size_t begin = 0; begin < sequences.size(); begin += kRows) {
    const size_t end = std::min(sequences.size(), begin + kRows);
    size_t longest = 1;
    for (size_t i = begin; i < end; ++i) longest = std::max(longest, sequences[i].size());
    const int64_t rows = static_cast<int64_t>(end - begin);
    const int64_t width = static_cast<int64_t>(longest);
    std::vector<int64_t> ids(static_cast<size_t>(rows * width), 0), mask(ids.size(), 0);
    for (size_t i = begin; i < end; ++i) {
      if (sequences[i].empty()) return absl::InvalidArgumentError("an empty sequence to score");
      const size_t offset = (i - begin) * longest;
      std::copy(sequences[i].begin(), sequences[i].end(), ids.begin() + offset);
      std::fill_n(mask.begin() + offset, sequences[i].size(), 1);
    }
    model::TokenBatch batch{.input_ids = at::tensor(ids, at::kLong).view({rows, width}),
                            .attention_mask = at::tensor(mask, at::kLong).view({rows, width})};
    ASSIGN_OR_RETURN(model::ScalarScores scored, model::ScoreScalar(reward_model, batch));
    at::Tensor values = scored.per_sequence.to(at::kDouble).contiguous();
    const double* data = values.data_ptr<double>();
    scores.insert(scores.end(), data, data + rows);
  }
  return scores;
}

absl::StatusOr<std::vector<double>> ResponseLogProbSums(
    const model::CausalLM& policy, const std::vector<TokenIds>& sequences,
    const std::vector<size_t>& prompt_lengths) {
  if (sequences.size() != prompt_lengths.size()) {
    return absl::InvalidArgumentError("ResponseLogProbSums: one prompt length per sequence");
  }
  at::NoGradGuard no_grad;
  ASSIGN_OR_RETURN(std::vector<std::vector<float>> logprobs,
                   model::ScoreSequences(policy, sequences));
  std::vector<double> sums;
  sums.reserve(sequences.size());
  for (size_t i = 0; i < sequences.size(); ++i) {
    // logprobs[i][t] is the log-prob of token t + 1; response tokens start at prompt_lengths[i].
    double sum = 0;
    for (size_t t = prompt_lengths[i] > 0 ? prompt_lengths[i] - 1 : 0; t < logprobs[i].size();
         ++t) {
      sum += logprobs[i][t];
    }
    sums.push_back(sum);
  }
  return sums;
}

}  // namespace rein::demo
