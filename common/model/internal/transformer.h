// The decoder trunk behind CausalLM: weights and the forward math, without argument checks.
// Callers inside common/model (CausalLM, Generator, benchmarks) validate first.
//
// Layout conventions (B batch rows, T new tokens, H query heads, K key/value heads, G = H / K,
// D head_dim, L key positions): projections give [B, T, heads, D]; attention runs as batched
// matrix products over B*K groups of G*T queries, so grouped-query attention reads each key/value
// head once without repeating it; the cache stores [slots, K, capacity, D] per layer, so the
// keys of a contiguous range of slots are a view the products read in place.
//
// Thread safety: const methods only read weights and may run concurrently.
#ifndef REIN_COMMON_MODEL_INTERNAL_TRANSFORMER_H_
#define REIN_COMMON_MODEL_INTERNAL_TRANSFORMER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/model/causal_lm.h"
#include "common/model/lora.h"
#include "common/model/model_config.h"

namespace rein::model::internal {

// One LoRA adapter (lora.h) on rows [offset, offset + b.size(0)) of a projection's output, which
// may be fused (q, k and v in one matrix): a [rank, in], b [rows, rank].
struct LoraPart {
  at::Tensor a, b;
  int64_t offset = 0;
};

// One decoder layer. Matrices in nn.Linear layout [out, in] (GPT-2's Conv1D weights transposed);
// qkv rows are q, then k, then v; Llama-family up rows are gate, then up.
struct LayerWeights {
  at::Tensor norm1_w, norm1_b;  // input_layernorm / ln_1 (bias: GPT-2 only).
  at::Tensor qkv_w, qkv_b;
  at::Tensor q_norm_w, k_norm_w;  // qwen3, [D] each.
  at::Tensor o_w, o_b;
  at::Tensor norm2_w, norm2_b;  // post_attention_layernorm / ln_2.
  at::Tensor up_w, up_b;
  at::Tensor down_w, down_b;
  // Adapters on qkv_w, o_w, up_w and down_w; empty without LoRA or for untargeted projections.
  std::vector<LoraPart> qkv_lora, o_lora, up_lora, down_lora;
};

// How a weight is initialised by CreateRandom.
// kFanInUniform: uniform(-1 / sqrt(in), 1 / sqrt(in)) for a matrix [out, in] (LoRA's A, as
// PEFT's kaiming_uniform_(a = sqrt(5)) draws it).
enum class InitKind { kNormal, kOnes, kZeros, kFanInUniform };

struct NamedWeight {
  std::string name;  // Hugging Face name.
  at::Tensor view;   // Into the model's storage.
  InitKind init;
};

// Host-side facts about a cached step, so the forward never reads device memory.
struct CacheStep {
  KvCache* cache = nullptr;
  at::Tensor cache_lengths;  // [B] int64 on the model's device.
  int64_t first_slot = 0;
  int64_t max_cache_length = 0;  // max(cache_lengths).
};

struct LayerCheckpoint;

class Transformer {
 public:
  Transformer(ModelConfig config, at::ScalarType dtype, c10::Device device);

  // Allocates (uninitialised) weights for the trunk and the requested heads and records their
  // Hugging Face names. GPT-2 names carry `gpt2_prefix` ("transformer." or "" for legacy files).
  void Allocate(bool lm_head, bool scalar_head, const std::string& gpt2_prefix);
  // Adds an uninitialised scalar head; returns its name and view.
  NamedWeight AllocateScalarHead();

  const ModelConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  c10::Device device() const { return device_; }
  bool has_lm_head() const { return lm_head_.defined(); }
  bool has_scalar_head() const { return score_.defined(); }
  const std::vector<NamedWeight>& named_weights() const { return named_; }
  const std::vector<at::Tensor>& leaves() const { return leaves_; }
  int64_t num_parameters() const;

  // LoRA (lora_weights.cc). AddLora allocates uninitialised adapters for options' targets in
  // every layer (Llama family; the caller checked the options) and names them.
  void AddLora(const LoraOptions& options);
  const std::optional<LoraOptions>& lora() const { return lora_; }
  // The adapters, A then B per target, layer by layer: names, views and how to initialise them.
  const std::vector<NamedWeight>& lora_weights() const { return lora_named_; }
  // Folds every adapter into its projection (W += alpha / rank * B A, in float32) and drops them.
  void MergeLora();
  // Removes the adapters, leaving the base weights as they are.
  void DropLora();

  // Gradient checkpointing (checkpointed_layer.cc): forwards under grad mode keep only each
  // layer's input and recompute the layer during backward.
  void set_gradient_checkpointing(bool on) { checkpoint_layers_ = on; }
  bool gradient_checkpointing() const { return checkpoint_layers_; }

  // Final hidden states [B, T, hidden] of a batch without cache. `mask` is [B, T] (0/1) or
  // undefined; `positions` [B, T] int64. All on device(). `adapters` false computes the base
  // model, as if there were no LoRA adapters.
  at::Tensor Forward(const at::Tensor& ids, const at::Tensor& positions, const at::Tensor& mask,
                     bool adapters = true) const;
  // Final hidden states [1, N, hidden] of sequences packed end to end in `ids` [1, N]: each of
  // `lengths` (summing to N) attends only to itself, causally, so no work is spent on padding
  // or across sequences. `positions` [1, N] restart at 0 for each sequence. On device().
  at::Tensor ForwardPacked(const at::Tensor& ids, const at::Tensor& positions,
                           const std::vector<int64_t>& lengths, bool adapters = true) const;
  // Final hidden states [B, T, hidden] of new tokens of slots step.first_slot.. (see
  // CachedBatch), storing their keys and values in step.cache.
  at::Tensor ForwardCached(const at::Tensor& ids, const at::Tensor& positions,
                           const CacheStep& step) const;
  // Heads on [..., hidden]: logits [..., V] and values [...], float32.
  at::Tensor LmLogits(const at::Tensor& hidden) const;
  at::Tensor ScalarValues(const at::Tensor& hidden) const;

  // Zero-filled cache storage.
  void AllocateCache(KvCache& cache) const;

 private:
  friend struct LayerCheckpoint;
  struct AttentionInputs;

  at::Tensor Embed(const at::Tensor& ids, const at::Tensor& positions) const;
  at::Tensor Layers(at::Tensor hidden, const AttentionInputs& in) const;
  // Decoder layer i of either family.
  at::Tensor Layer(int64_t i, at::Tensor hidden, const AttentionInputs& in) const;
  // Layer i through LayerCheckpoint: its activations are recomputed during backward.
  at::Tensor CheckpointedLayer(int64_t i, const at::Tensor& hidden,
                               const AttentionInputs& in) const;
  at::Tensor LlamaLayer(int64_t i, at::Tensor hidden, const AttentionInputs& in) const;
  at::Tensor Gpt2Layer(int64_t i, at::Tensor hidden, const AttentionInputs& in) const;
  // q [B, T, H, D], k and v [B, T, K, D] (any strides) -> attention output [B, T, H * D].
  at::Tensor Attend(int64_t layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    double scale, const AttentionInputs& in) const;
  // Attend for a packed batch (B = 1): one attention per sequence of in.segments.
  at::Tensor AttendPacked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          double scale, const AttentionInputs& in) const;
  // The additive causal (and sliding-window) mask [L, L] of one sequence of length L.
  at::Tensor CausalMask(int64_t length, const at::TensorOptions& options) const;
  // Which keys each query sees: causal, within the sliding window if any (broadcast shapes).
  at::Tensor Visible(const at::Tensor& query_pos, const at::Tensor& key_pos) const;
  // 0 where visible, the dtype's lowest value elsewhere, in the model dtype.
  at::Tensor Additive(const at::Tensor& visible) const;
  // RoPE tables of `positions` into in.cos / in.sin (Llama family; nothing for GPT-2).
  void Rope(const at::Tensor& positions, AttentionInputs& in) const;
  // Additive mask and RoPE tables for one forward.
  void Prepare(const at::Tensor& positions, const at::Tensor& visible, int64_t batch,
               int64_t new_tokens, AttentionInputs& in) const;
  at::Tensor Norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const;
  // x W^T + b, plus the adapters' output when there are any and in.adapters.
  at::Tensor Project(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                     const std::vector<LoraPart>& lora, const AttentionInputs& in) const;

  ModelConfig config_;
  at::ScalarType dtype_;
  c10::Device device_;
  at::Tensor inv_freq_;  // [D / 2] float32, RoPE inverse frequencies after scaling.

  at::Tensor embed_;      // [V, hidden].
  at::Tensor pos_embed_;  // GPT-2 wpe [n_positions, hidden].
  std::vector<LayerWeights> layers_;
  at::Tensor final_norm_w_, final_norm_b_;
  at::Tensor lm_head_;  // [V, hidden]; the same tensor as embed_ when tied.
  at::Tensor score_;    // [1, hidden].

  std::vector<NamedWeight> named_;
  std::vector<at::Tensor> leaves_;
  std::optional<LoraOptions> lora_;
  double lora_scale_ = 0;  // alpha / rank
  std::vector<NamedWeight> lora_named_;
  bool checkpoint_layers_ = false;
};

// y[..., rows of each part] += scale * (x a^T) b^T, in place; returns y. x [..., in], y [..., out].
at::Tensor AddLoraOutput(at::Tensor y, const at::Tensor& x, const std::vector<LoraPart>& parts,
                         double scale);

// RoPE inverse frequencies [head_dim / 2] (float32, CPU) with the config's scaling applied,
// computed as transformers' rope initialisation functions compute them.
at::Tensor RopeInverseFrequencies(const ModelConfig& config);

struct ModelAccess {
  static const Transformer& Get(const CausalLM& model) { return *model.impl_; }
};

}  // namespace rein::model::internal

#endif  // REIN_COMMON_MODEL_INTERNAL_TRANSFORMER_H_
