// Hugging Face–compatible decoder-only language models in LibTorch: GPT-2, Llama (incl. Llama 3
// RoPE scaling), Mistral, Qwen2 and Qwen3, chosen by config.json's `model_type`, computing what
// transformers' eager modelling code computes (fp32 logits agree to ~1e-6 on CPU).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<CausalLM> lm, CausalLM::Load("/models/qwen3-0.6b"));
//   ASSIGN_OR_RETURN(at::Tensor logits, lm->Logits({.input_ids = ids}));  // [B, T, V]
//
// Two heads share the trunk: the LM head (`lm_head.weight`, or the input embedding when tied)
// and a scalar head (`score.weight`, [1, hidden], no bias: the name and shape transformers'
// *ForSequenceClassification uses) for reward models and critics.
//
// Weights: q/k/v (and gate/up) projections are stored fused, one matrix per layer;
// NamedParameters() gives every tensor under its Hugging Face name as a view into that storage,
// so writing into those views (weight sync) updates the model. Autograd works through every
// method when grad mode is on; Parameters() are the leaf tensors to optimise.
//
// Thread safety: const methods may run concurrently (weights are only read). A KvCache belongs
// to one caller at a time. Methods that change weights (AddScalarHead, writes through
// NamedParameters) need exclusive access. No exception leaves this API.
#ifndef REIN_COMMON_MODEL_CAUSAL_LM_H_
#define REIN_COMMON_MODEL_CAUSAL_LM_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/lora.h"
#include "common/model/model_config.h"

namespace rein::checkpoint {
struct HfCheckpoint;
}  // namespace rein::checkpoint

namespace rein::model {

namespace internal {
class Transformer;
struct ModelAccess;
}  // namespace internal

// Which heads a model has.
enum class Heads {
  kAuto,         // LM head unless config.json's architectures[0] is *ForSequenceClassification;
                 // scalar head iff the checkpoint holds score.weight.
  kLm,           // LM head only (a score.weight in the checkpoint is skipped).
  kScalar,       // Scalar head only (a reward model or critic; lm_head.weight is skipped).
  kLmAndScalar,  // Both.
  kNone,         // The trunk only (lm_head.weight and score.weight are skipped), e.g. for a
                 // critic that AddScalarHead then gives a fresh head.
};

struct ModelOptions {
  // Where weights live and compute runs. Default: CPU.
  c10::Device device = c10::Device(c10::kCPU);
  // Weight and compute dtype. Default (unset): float32 on CPU; on CUDA, config.json's
  // torch_dtype when it is bfloat16 or float16, else float32. Logits and scalar values are
  // returned in float32 whatever this is.
  std::optional<at::ScalarType> dtype = std::nullopt;
  // Default: kAuto.
  Heads heads = Heads::kAuto;
};

// OK for the CPU. For a CUDA device, FAILED_PRECONDITION unless this LibTorch was built with
// CUDA and the device index is one of the GPUs it sees. Every CausalLM constructor checks it
// first: a model on a device that cannot exist is an error, never an abort inside LibTorch.
absl::Status CheckDeviceUsable(const c10::Device& device);

// A batch of token sequences for a forward pass without a cache.
struct TokenBatch {
  at::Tensor input_ids = {};  // [B, T] integer ids < vocab_size. Required.
  // [B, T], 1 for a real token and 0 for padding, in any arrangement (left or right padding).
  // Padding never changes a real position's result. Undefined: every position is real.
  at::Tensor attention_mask = {};
  // [B, T] positions. Undefined: cumsum(attention_mask) - 1 at real tokens and 1 at padding (as
  // transformers' generate), i.e. arange(T) without a mask.
  at::Tensor position_ids = {};
  // False computes the base model, as if the LoRA adapters (if any) were not there: e.g. the
  // reference policy of a LoRA-trained one, from the same weights.
  bool adapters = true;
};

// Keys and values of `slots()` sequences of up to `capacity()` positions each, allocated once
// (zero-filled) and reused. Obtain one from CausalLM::NewKvCache; use it only with that model.
class KvCache {
 public:
  ~KvCache();
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  int64_t slots() const { return slots_; }
  int64_t capacity() const { return capacity_; }
  // Bytes held.
  int64_t bytes() const;
  // Copies the first `length` positions of slot `from` into slot `to` (every layer).
  absl::Status CopySlot(int64_t from, int64_t to, int64_t length);

 private:
  friend class CausalLM;
  friend class internal::Transformer;
  KvCache(int64_t slots, int64_t capacity) : slots_(slots), capacity_(capacity) {}

  int64_t slots_;
  int64_t capacity_;
  // Per layer: [slots, kv_heads, capacity, head_dim].
  std::vector<at::Tensor> keys_;
  std::vector<at::Tensor> values_;
};

// New tokens for cache slots first_slot .. first_slot + B - 1, one row per slot.
struct CachedBatch {
  // [B, T] integer ids. A row with fewer than T new tokens is right-padded (any valid id); its
  // padded positions are written to the cache beyond the row's real tokens, where later tokens
  // overwrite them, and their outputs mean nothing.
  at::Tensor input_ids = {};
  at::Tensor position_ids = {};  // [B, T] positions of the new tokens.
  // [B] positions each slot already holds. New token t of row b is stored at cache position
  // cache_lengths[b] + t and attends to cache positions 0 .. cache_lengths[b] + t.
  at::Tensor cache_lengths = {};
  int64_t first_slot = 0;
};

class CausalLM {
 public:
  // Loads a Hugging Face checkpoint folder (config.json + safetensors) with
  // checkpoint::LoadHfCheckpoint. Missing or unexpected tensors, and tensors of the wrong shape,
  // are INVALID_ARGUMENT naming them; GPT-2's attention-mask buffers (".attn.bias",
  // ".attn.masked_bias") and a redundant lm_head.weight of a tied model are skipped.
  // A folder that also holds PEFT's adapter_config.json and adapter_model.safetensors (a
  // LoRA-trained policy, as a learner checkpoints it) loads with those adapters (lora.h).
  static absl::StatusOr<std::unique_ptr<CausalLM>> Load(const std::string& dir,
                                                        const ModelOptions& options = {});
  // As Load, from a checkpoint already in memory (its tensors are copied).
  static absl::StatusOr<std::unique_ptr<CausalLM>> FromCheckpoint(
      const checkpoint::HfCheckpoint& checkpoint, const ModelOptions& options = {});
  // Random weights as transformers initialises them (normal(0, initializer_range) matrices,
  // unit norm scales, zero biases), deterministic in `seed`. kAuto means kLm here.
  static absl::StatusOr<std::unique_ptr<CausalLM>> CreateRandom(const nlohmann::json& config,
                                                                uint64_t seed,
                                                                const ModelOptions& options = {});
  ~CausalLM();
  CausalLM(const CausalLM&) = delete;
  CausalLM& operator=(const CausalLM&) = delete;

  const ModelConfig& config() const;
  at::ScalarType dtype() const;
  c10::Device device() const;
  bool has_lm_head() const;
  bool has_scalar_head() const;

  // Gradient checkpointing: forwards under grad mode keep each decoder layer's input only and
  // recompute the layer during backward (as torch.utils.checkpoint does), trading about one more
  // forward pass for activation memory. Gradients are those of the plain path. Default off.
  void SetGradientCheckpointing(bool on);
  bool gradient_checkpointing() const;

  // Adds a scalar head initialised with normal(0, initializer_range) (deterministic in `seed`),
  // e.g. for a critic started from a policy. FAILED_PRECONDITION if there is one already.
  absl::Status AddScalarHead(uint64_t seed);

  // Final hidden states (after the last norm), [B, T, hidden] in dtype().
  absl::StatusOr<at::Tensor> Hidden(const TokenBatch& batch) const;
  // Final hidden states [N, hidden] of sequences packed end to end (sequence packing): `ids`
  // [N] integer ids, the first lengths[0] the first sequence's, and so on (lengths sum to N,
  // each at least 1). Each sequence attends only to itself, with positions from 0, so its
  // states equal those Hidden gives it in a padded batch, with no work spent on padding.
  // `adapters` as in TokenBatch.
  absl::StatusOr<at::Tensor> HiddenPacked(const at::Tensor& ids,
                                          const std::vector<int64_t>& lengths,
                                          bool adapters = true) const;
  // LM logits, [B, T, vocab_size] float32.
  absl::StatusOr<at::Tensor> Logits(const TokenBatch& batch) const;
  // Heads applied to hidden states of shape [..., hidden]: LM logits [..., vocab_size] and
  // scalar values [...], both float32. FAILED_PRECONDITION without that head.
  absl::StatusOr<at::Tensor> LmLogits(const at::Tensor& hidden) const;
  absl::StatusOr<at::Tensor> ScalarValues(const at::Tensor& hidden) const;

  // A cache for `slots` sequences of up to `capacity` positions each.
  absl::StatusOr<std::unique_ptr<KvCache>> NewKvCache(int64_t slots, int64_t capacity) const;
  // Runs new tokens through the model, reading earlier positions from `cache` and storing the
  // new ones in it. Returns final hidden states [B, T, hidden]. INVALID_ARGUMENT if a row would
  // exceed the cache's capacity or the slots its size.
  absl::StatusOr<at::Tensor> HiddenCached(const CachedBatch& batch, KvCache& cache) const;

  // Every base weight under its Hugging Face name (as transformers' save_pretrained writes it),
  // as views of the model's storage. LoRA adapters are not among them (NamedAdapters).
  std::vector<std::pair<std::string, at::Tensor>> NamedParameters() const;
  // The distinct leaf tensors behind NamedParameters (fused where the model fuses).
  std::vector<at::Tensor> Parameters() const;
  // Writes config.json and model.safetensors into `dir` (which must not exist) with
  // checkpoint::SaveHfCheckpoint: Hugging Face names, loadable by transformers. A model with a
  // scalar head and no LM head is saved as <Arch>ForSequenceClassification with num_labels 1.
  // LoRA adapters are not saved (SaveLoraAdapter in lora.h, or MergeLora first).
  absl::Status Save(const std::string& dir) const;

  // LoRA (lora.h). Adds adapters per `options` to every layer, A drawn deterministically from
  // `seed` and B zero, so the model's outputs do not change. INVALID_ARGUMENT for options
  // CheckLoraOptions rejects; FAILED_PRECONDITION if the model has adapters already;
  // UNIMPLEMENTED for GPT-2.
  absl::Status AddLora(const LoraOptions& options, uint64_t seed);
  // The adapters' options; nullopt without adapters.
  std::optional<LoraOptions> lora() const;
  // Every adapter matrix under its name (lora.h), as views of the model's storage; writing
  // into them (weight sync) updates the model. Empty without adapters.
  std::vector<std::pair<std::string, at::Tensor>> NamedAdapters() const;
  // What a trainer optimises: the adapters when there are any, else Parameters().
  std::vector<at::Tensor> TrainableParameters() const;
  // The same by name: NamedAdapters() when there are adapters, else NamedParameters(). What a
  // learner pushes to rollouts.
  std::vector<std::pair<std::string, at::Tensor>> NamedTrainableParameters() const;
  // Folds the adapters into the base weights (W += alpha / rank * B A) and removes them; the
  // model then computes what it computed with them. FAILED_PRECONDITION without adapters.
  absl::Status MergeLora();

 private:
  friend struct internal::ModelAccess;
  explicit CausalLM(std::unique_ptr<internal::Transformer> impl);

  std::unique_ptr<internal::Transformer> impl_;
};

}  // namespace rein::model

#endif  // REIN_COMMON_MODEL_CAUSAL_LM_H_
