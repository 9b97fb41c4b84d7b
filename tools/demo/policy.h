// The model side of rein-demo: loading policies, reward models and tokenizers, sampling
// responses, scoring them with a reward model and summing log-probs. Shared by annotate and
// evaluate; the only rein-demo code besides corpus.cc that touches LibTorch.
//
// Every call runs on CPU without autograd. Thread safety: plain functions over const models.
#ifndef REIN_TOOLS_DEMO_POLICY_H_
#define REIN_TOOLS_DEMO_POLICY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::demo {

using TokenIds = std::vector<int64_t>;

// CausalLM::Load with an error that says what was being loaded ("the SFT policy").
absl::StatusOr<std::unique_ptr<model::CausalLM>> LoadModel(const std::string& dir,
                                                           model::Heads heads,
                                                           absl::string_view what);
// Tokenizer::FromDirectory with an error that names the directory; FAILED_PRECONDITION if the
// tokenizer has no EOS token.
absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> LoadTokenizer(const std::string& dir);

absl::StatusOr<TokenIds> EncodeText(const tokenizer::Tokenizer& tokenizer,
                                    absl::string_view text);

// One sampled response.
struct Sample {
  TokenIds output_ids;  // generated tokens, EOS included when it stopped there
  std::string text;     // output_ids decoded without special tokens
};

struct SampleOptions {
  int64_t max_new_tokens = 24;  // default: 24
  float temperature = 1.0f;     // default: 1 (sampling from the policy as is)
  int64_t batch_size = 64;      // sequences decoded together; default: 64
};

// Samples one response per (prompt, seed), in order.
absl::StatusOr<std::vector<Sample>> SampleResponses(const model::CausalLM& policy,
                                                    const tokenizer::Tokenizer& tokenizer,
                                                    const std::vector<TokenIds>& prompts,
                                                    const std::vector<uint64_t>& seeds,
                                                    const SampleOptions& options);

// The reward model's value at the last token of each sequence (scalar head), batched.
absl::StatusOr<std::vector<double>> ScoreSequencesScalar(const model::CausalLM& reward_model,
                                                         const std::vector<TokenIds>& sequences);

// Σ log p(token) over positions prompt_lengths[i] .. end of each sequence (the response).
absl::StatusOr<std::vector<double>> ResponseLogProbSums(const model::CausalLM& policy,
                                                        const std::vector<TokenIds>& sequences,
                                                        const std::vector<size_t>& prompt_lengths);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_POLICY_H_
