// Batched sampling from a CausalLM with a pre-allocated KV cache and continuous batching.
//
//   ASSIGN_OR_RETURN(auto generator, Generator::Create(*policy, {.max_batch_size = 32}));
//   ASSIGN_OR_RETURN(std::vector<GenerationResult> results,
//                    generator->Generate(requests, {.sampling = {.temperature = 0.7f,
//                                                                .top_p = 0.9f}}));
//
// Requests queue in order; up to max_batch_size of them decode together, one token per step.
// When a sequence finishes, its cache slot is given to the next queued request at once (its
// prompt is prefilled, then it joins the decode steps), so the batch stays full.
//
// Reproducibility: the random number behind a request's i-th token depends only on the
// request's seed and i, and each row is sampled on its own, so a request's output does not depend
// on which other requests share its batch (up to floating-point differences in the model's
// logits between batch shapes, which in practice do not change the samples).
//
// Sampling follows transformers' warper order: temperature, then top-k, then top-p (the
// smallest set of most likely tokens whose probability reaches top_p; at least one token). A
// token's log-prob is taken under that final distribution, i.e. the one actually sampled from;
// greedy decoding (temperature 0) reports the model's plain log-softmax log-prob. Top-k keeps
// exactly k tokens (transformers keeps ties with the k-th as well).
//
// Ownership: the Generator refers to `model`, which must outlive it. Thread safety: Generate
// calls are serialised (one at a time); the model may be used by others concurrently.
#ifndef REIN_COMMON_MODEL_GENERATOR_H_
#define REIN_COMMON_MODEL_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/model/causal_lm.h"

namespace rein::model {

struct SamplingParams {
  // Divides the logits. 0 means greedy decoding (argmax, first index on ties). Default: 1.
  float temperature = 1.0f;
  // Keep only the k most likely tokens; 0 keeps all. Default: 0.
  int64_t top_k = 0;
  // Nucleus sampling threshold in (0, 1]; 1 keeps all. Default: 1.
  float top_p = 1.0f;
};

struct GenerateOptions {
  SamplingParams sampling = {};
  // Tokens to generate per request at most (>= 1). Default: 256.
  int64_t max_new_tokens = 256;
  // A request finishes when it samples one of these (kept as its last output token). Default:
  // none.
  std::vector<int64_t> stop_token_ids = {};
  // Also stop at config.json's eos_token_id(s). Default: true.
  bool stop_at_eos = true;
  // Asked before every prefill and decode step; a non-OK status stops the generation, which
  // returns it (e.g. rpc::CallerWaitsCheck: nobody waits for the answer any more). Default: none.
  std::function<absl::Status()> keep_going = {};
};

struct GenerationRequest {
  std::vector<int64_t> prompt;  // Token ids; at least one.
  uint64_t seed = 0;            // Seed of this request's random stream.
};

enum class FinishReason {
  kStop,    // Sampled a stop or EOS token.
  kLength,  // Reached max_new_tokens.
};
// "stop" or "length".
const char* FinishReasonName(FinishReason reason);

struct GenerationResult {
  std::vector<int64_t> output_ids;  // Generated tokens (not the prompt), stop token included.
  std::vector<float> logprobs;      // One per output token.
  FinishReason finish_reason = FinishReason::kLength;
};

struct GeneratorOptions {
  // Sequences decoded together (at most the KV cache's slots). Default: 32.
  int64_t max_batch_size = 32;
  // Longest prompt + max_new_tokens - 1 a request may need (a limit: the cache holds what each
  // call needs); capped by GPT-2's n_positions. Default: 2048.
  int64_t max_sequence_length = 2048;
  // Prompts prefilled in one forward pass hold at most this many padded tokens (a longer prompt
  // goes alone), bounding prefill memory. Default: 2048.
  int64_t max_prefill_tokens = 2048;
  // false: no cache; every step recomputes every active sequence in full (reference behaviour
  // for tests and benchmarks). Default: true.
  bool use_kv_cache = true;
  // Only ids below this are ever sampled: real checkpoints pad the embedding matrix past the
  // tokenizer (Qwen: vocab_size 151936 for 151669 tokens), and an id the tokenizer does not
  // know must never come out. Greedy picks and the reported log-probs are over these ids.
  // Default (0): the model's whole vocabulary.
  int64_t sampleable_vocab_size = 0;
};

class Generator {
 public:
  // FAILED_PRECONDITION if the model has no LM head. Allocates nothing: each Generate call sizes
  // the KV cache for itself (see FitCache).
  static absl::StatusOr<std::unique_ptr<Generator>> Create(const CausalLM& model,
                                                           const GeneratorOptions& options = {});
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // Results in request order. INVALID_ARGUMENT (naming the request) for an empty prompt, an id
  // outside the vocabulary, a request longer than max_sequence_length, or bad options.
  absl::StatusOr<std::vector<GenerationResult>> Generate(
      const std::vector<GenerationRequest>& requests, const GenerateOptions& options);

  const GeneratorOptions& options() const { return options_; }

  // Bytes the KV cache holds now (0 before the first call): sized by the calls made, at most
  // twice what the last one needed.
  int64_t cache_bytes();

 private:
  class Run;
  Generator(const CausalLM& model, const GeneratorOptions& options);

  // Makes cache_ hold at least `slots` x `length` positions (slots <= max_batch_size, length <=
  // max_sequence_length: what one call needs, not the worst case), keeping the cache it has
  // when that fits and is at most twice the need, so that calls of one shape reuse it.
  absl::Status FitCache(int64_t slots, int64_t length) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const CausalLM& model_;
  const GeneratorOptions options_;
  absl::Mutex mu_;
  std::unique_ptr<KvCache> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::model

#endif  // REIN_COMMON_MODEL_GENERATOR_H_
