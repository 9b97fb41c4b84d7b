// The architecture of a Hugging Face decoder-only language model, read from its config.json.
//
// Supported `model_type`s: "gpt2", "llama" (rope_scaling default, "linear" or "llama3"),
// "mistral" (sliding window), "qwen2" (q/k/v bias) and "qwen3" (per-head q/k RMSNorm, explicit
// head_dim). Field names and defaults follow transformers' configuration classes; a missing
// required field, a field of the wrong type or an unsupported feature is an INVALID_ARGUMENT
// (UNIMPLEMENTED for an unknown model_type or rope type) naming the field.
//
// Thread safety: plain values.
#ifndef REIN_COMMON_MODEL_MODEL_CONFIG_H_
#define REIN_COMMON_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::model {

// Trunk families: GPT-2 (learned positions, LayerNorm, fused Conv1D attention) and the Llama
// family (RoPE, RMSNorm, gated MLP), which covers llama, mistral, qwen2 and qwen3.
enum class Family { kGpt2, kLlama };

enum class Activation { kSilu, kGeluTanh, kGeluExact, kRelu };

enum class RopeType { kDefault, kLinear, kLlama3 };

struct RopeConfig {
  double theta = 10000.0;  // rope_theta.
  RopeType type = RopeType::kDefault;
  double factor = 1.0;                              // rope_scaling.factor (linear, llama3).
  double low_freq_factor = 1.0;                     // llama3.
  double high_freq_factor = 4.0;                    // llama3.
  int64_t original_max_position_embeddings = 8192;  // llama3.
};

struct ModelConfig {
  std::string model_type;  // As in config.json: "gpt2", "llama", "mistral", "qwen2", "qwen3".
  Family family = Family::kLlama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // num_key_value_heads; == num_heads without GQA.
  int64_t head_dim = 0;      // Explicit head_dim, else hidden_size / num_heads.
  // GPT-2: n_positions, the size of the learned position table (a hard limit). Llama family:
  // max_position_embeddings (informational; RoPE positions are not limited by it).
  int64_t max_position_embeddings = 0;
  double norm_eps = 1e-5;  // rms_norm_eps / layer_norm_epsilon.
  Activation activation = Activation::kSilu;
  bool qkv_bias = false;  // Bias on q/k/v projections (qwen2; llama/qwen3 attention_bias).
  bool o_bias = false;    // Bias on the output projection (llama/qwen3 attention_bias).
  bool mlp_bias = false;  // Bias on gate/up/down (llama mlp_bias).
  bool qk_norm = false;   // qwen3: RMSNorm over head_dim on q and k before RoPE.
  bool tie_word_embeddings = false;
  RopeConfig rope;
  std::optional<int64_t> sliding_window;  // mistral: keys more than this far back are masked.
  bool scale_attn_weights = true;         // gpt2.
  bool scale_attn_by_inverse_layer_idx = false;  // gpt2.
  double initializer_range = 0.02;
  std::vector<int64_t> eos_token_ids;  // eos_token_id (an int or a list); may be empty.
  std::optional<int64_t> pad_token_id;
  // architectures[0] ends with "ForSequenceClassification": a reward model / critic checkpoint.
  bool sequence_classification = false;
  nlohmann::json raw;  // config.json as read, written back by CausalLM::Save.
};

// Parses config.json's contents.
absl::StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& config);

}  // namespace rein::model

#endif  // REIN_COMMON_MODEL_MODEL_CONFIG_H_
