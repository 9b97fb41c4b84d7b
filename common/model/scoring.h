// Teacher-forced scoring: per-token log-probabilities of given sequences (reference model, the
// learner's policy) and scalar-head values (reward model, critic), batched, with padding in any
// arrangement never changing a real position's value.
//
//   ASSIGN_OR_RETURN(TokenLogProbs lp, ScoreTokens(*policy, {.input_ids = ids,
//                                                           .attention_mask = mask}));
//   // lp.logprobs[b][t] = log p(ids[b][t+1] | ids[b][..t])
//
// The *FromHidden forms take hidden states from CausalLM::Hidden so that a learner can run the
// trunk once for both heads; with grad mode on they are differentiable. Everything else runs
// without autograd.
//
// Thread safety: as the CausalLM's const methods (concurrent calls are fine).
#ifndef REIN_COMMON_MODEL_SCORING_H_
#define REIN_COMMON_MODEL_SCORING_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"

namespace rein::model {

struct ScoringOptions {
  // Log-softmax over the vocabulary runs on at most this many positions at a time, so that
  // [positions, vocab_size] logits never exist for a whole batch. Default: 2048.
  int64_t max_logit_positions = 2048;
  // ScoreSequences: tokens per forward pass (with pack_sequences, real tokens; without, rows x
  // longest row). Default: 16384.
  int64_t max_batch_tokens = 16384;
  // ScoreSequences: sequences go end to end through one forward pass each batch
  // (CausalLM::HiddenPacked), so no work is spent on padding; false pads each batch's rows to
  // its longest. The results agree to float rounding. Default: true.
  bool pack_sequences = true;
  // ScoreSequences asks it before every forward pass and stops with its error (e.g.
  // rpc::CallerWaitsCheck: nobody waits for the answer any more). Default: none.
  std::function<absl::Status()> keep_going = {};
};

struct TokenLogProbs {
  // [B, T-1] float32: logprobs[b][t] = log_softmax(logits[b][t])[input_ids[b][t+1]] where both
  // positions are real tokens, 0 elsewhere.
  at::Tensor logprobs;
  at::Tensor valid;  // [B, T-1] bool: where logprobs holds a value.
};

struct ScalarScores {
  at::Tensor per_token;     // [B, T] float32: the scalar head at every real token, 0 at padding.
  at::Tensor per_sequence;  // [B] float32: the value at each row's last real token.
};

// Log-probs of `batch` (T >= 2). FAILED_PRECONDITION without an LM head.
absl::StatusOr<TokenLogProbs> ScoreTokens(const CausalLM& model, const TokenBatch& batch,
                                          const ScoringOptions& options = {});
// Scalar values of `batch`. FAILED_PRECONDITION without a scalar head.
absl::StatusOr<ScalarScores> ScoreScalar(const CausalLM& model, const TokenBatch& batch);

// The same from hidden states [B, T, hidden] of `batch` (its input_ids and attention_mask).
absl::StatusOr<TokenLogProbs> LogProbsFromHidden(const CausalLM& model, const at::Tensor& hidden,
                                                 const TokenBatch& batch,
                                                 const ScoringOptions& options = {});
absl::StatusOr<ScalarScores> ScalarFromHidden(const CausalLM& model, const at::Tensor& hidden,
                                              const TokenBatch& batch);

// Log-probs of sequences of different lengths (each >= 1 token; a 1-token sequence gets none):
// result[i] has sequences[i].size() - 1 values. Sequences are packed (or padded, see
// ScoringOptions::pack_sequences) into batches of at most options.max_batch_tokens tokens, in
// order.
absl::StatusOr<std::vector<std::vector<float>>> ScoreSequences(
    const CausalLM& model, const std::vector<std::vector<int64_t>>& sequences,
    const ScoringOptions& options = {});

}  // namespace rein::model

#endif  // REIN_COMMON_MODEL_SCORING_H_
