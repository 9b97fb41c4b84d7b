#include "common/model/model_config.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::model {
namespace {

using Json = nlohmann::json;

bool Present(const Json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && !it->is_null();
}

absl::Status WrongType(const char* key, const char* want, const Json& value) {
  return absl::InvalidArgumentError(
      absl::StrCat("config.json: \"", key, "\" must be ", want, ", got ", value.dump()));
}

// Integer field `key`, or `fallback` (transformers' class default) when absent or null.
absl::StatusOr<int64_t> Int(const Json& config, const char* key, std::optional<int64_t> fallback) {
  if (!Present(config, key)) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat("config.json: missing \"", key, "\""));
  }
  const Json& value = config.at(key);
  if (!value.is_number_integer()) return WrongType(key, "an integer", value);
  return value.get<int64_t>();
}

absl::StatusOr<int64_t> PositiveInt(const Json& config, const char* key,
                                    std::optional<int64_t> fallback) {
  ASSIGN_OR_RETURN(int64_t value, Int(config, key, fallback));
  if (value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: \"", key, "\" must be positive, got ", value));
  }
  return value;
}

absl::StatusOr<double> Number(const Json& config, const char* key, std::optional<double> fallback) {
  if (!Present(config, key)) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat("config.json: missing \"", key, "\""));
  }
  const Json& value = config.at(key);
  if (!value.is_number()) return WrongType(key, "a number", value);
  return value.get<double>();
}

absl::StatusOr<bool> Bool(const Json& config, const char* key, bool fallback) {
  if (!Present(config, key)) return fallback;
  const Json& value = config.at(key);
  if (!value.is_boolean()) return WrongType(key, "true or false", value);
  return value.get<bool>();
}

absl::StatusOr<Activation> ParseActivation(const Json& config, const char* key,
                                           const char* fallback) {
  std::string name = fallback;
  if (Present(config, key)) {
    if (!config.at(key).is_string()) return WrongType(key, "a string", config.at(key));
    name = config.at(key).get<std::string>();
  }
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "gelu") return Activation::kGeluExact;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") {
    return Activation::kGeluTanh;
  }
  if (name == "relu") return Activation::kRelu;
  return absl::UnimplementedError(
      absl::StrCat("config.json: \"", key, "\" = \"", name, "\" is not supported"));
}

absl::Status ParseRope(const Json& config, RopeConfig& rope) {
  ASSIGN_OR_RETURN(rope.theta, Number(config, "rope_theta", 10000.0));
  if (rope.theta <= 0) return absl::InvalidArgumentError("config.json: \"rope_theta\" must be > 0");
  if (!Present(config, "rope_scaling")) return absl::OkStatus();
  const Json& scaling = config.at("rope_scaling");
  if (!scaling.is_object()) return WrongType("rope_scaling", "an object or null", scaling);
  std::string type;
  for (const char* key : {"rope_type", "type"}) {
    if (Present(scaling, key) && scaling.at(key).is_string()) {
      type = scaling.at(key).get<std::string>();
      break;
    }
  }
  if (type.empty()) {
    return absl::InvalidArgumentError("config.json: \"rope_scaling\" has no \"rope_type\"");
  }
  if (type == "default") return absl::OkStatus();
  if (type == "linear") {
    rope.type = RopeType::kLinear;
    ASSIGN_OR_RETURN(rope.factor, Number(scaling, "factor", std::nullopt));
  } else if (type == "llama3") {
    rope.type = RopeType::kLlama3;
    ASSIGN_OR_RETURN(rope.factor, Number(scaling, "factor", std::nullopt));
    ASSIGN_OR_RETURN(rope.low_freq_factor, Number(scaling, "low_freq_factor", std::nullopt));
    ASSIGN_OR_RETURN(rope.high_freq_factor, Number(scaling, "high_freq_factor", std::nullopt));
    ASSIGN_OR_RETURN(rope.original_max_position_embeddings,
                     PositiveInt(scaling, "original_max_position_embeddings", std::nullopt));
    if (rope.high_freq_factor <= rope.low_freq_factor) {
      return absl::InvalidArgumentError(
          "config.json: rope_scaling.high_freq_factor must exceed low_freq_factor");
    }
  } else {
    return absl::UnimplementedError(
        absl::StrCat("config.json: rope_scaling type \"", type, "\" is not supported"));
  }
  if (rope.factor <= 0) {
    return absl::InvalidArgumentError("config.json: rope_scaling.factor must be > 0");
  }
  return absl::OkStatus();
}

absl::Status ParseGpt2(const Json& c, ModelConfig& m) {
  m.family = Family::kGpt2;
  ASSIGN_OR_RETURN(m.vocab_size, PositiveInt(c, "vocab_size", 50257));
  ASSIGN_OR_RETURN(m.hidden_size, PositiveInt(c, "n_embd", 768));
  ASSIGN_OR_RETURN(m.num_layers, PositiveInt(c, "n_layer", 12));
  ASSIGN_OR_RETURN(m.num_heads, PositiveInt(c, "n_head", 12));
  ASSIGN_OR_RETURN(m.intermediate_size, PositiveInt(c, "n_inner", 4 * m.hidden_size));
  ASSIGN_OR_RETURN(m.max_position_embeddings, PositiveInt(c, "n_positions", 1024));
  ASSIGN_OR_RETURN(m.norm_eps, Number(c, "layer_norm_epsilon", 1e-5));
  ASSIGN_OR_RETURN(m.activation, ParseActivation(c, "activation_function", "gelu_new"));
  ASSIGN_OR_RETURN(m.scale_attn_weights, Bool(c, "scale_attn_weights", true));
  ASSIGN_OR_RETURN(m.scale_attn_by_inverse_layer_idx,
                   Bool(c, "scale_attn_by_inverse_layer_idx", false));
  ASSIGN_OR_RETURN(m.tie_word_embeddings, Bool(c, "tie_word_embeddings", true));
  if (m.hidden_size % m.num_heads != 0) {
    return absl::InvalidArgumentError("config.json: \"n_embd\" must be a multiple of \"n_head\"");
  }
  m.num_kv_heads = m.num_heads;
  m.head_dim = m.hidden_size / m.num_heads;
  m.qkv_bias = m.o_bias = m.mlp_bias = true;
  return absl::OkStatus();
}

// transformers' class defaults of the Llama-family configs.
struct LlamaDefaults {
  int64_t vocab, hidden, intermediate, max_positions;
  std::optional<int64_t> kv_heads;  // nullopt: num_attention_heads.
  bool qkv_bias;
};

absl::Status ParseLlamaFamily(const Json& c, const LlamaDefaults& d, ModelConfig& m) {
  m.family = Family::kLlama;
  ASSIGN_OR_RETURN(m.vocab_size, PositiveInt(c, "vocab_size", d.vocab));
  ASSIGN_OR_RETURN(m.hidden_size, PositiveInt(c, "hidden_size", d.hidden));
  ASSIGN_OR_RETURN(m.intermediate_size, PositiveInt(c, "intermediate_size", d.intermediate));
  ASSIGN_OR_RETURN(m.num_layers, PositiveInt(c, "num_hidden_layers", 32));
  ASSIGN_OR_RETURN(m.num_heads, PositiveInt(c, "num_attention_heads", 32));
  ASSIGN_OR_RETURN(m.num_kv_heads,
                   PositiveInt(c, "num_key_value_heads", d.kv_heads.value_or(m.num_heads)));
  ASSIGN_OR_RETURN(m.max_position_embeddings,
                   PositiveInt(c, "max_position_embeddings", d.max_positions));
  ASSIGN_OR_RETURN(m.norm_eps, Number(c, "rms_norm_eps", 1e-6));
  ASSIGN_OR_RETURN(m.activation, ParseActivation(c, "hidden_act", "silu"));
  ASSIGN_OR_RETURN(m.tie_word_embeddings, Bool(c, "tie_word_embeddings", false));
  if (m.model_type == "qwen3" && !Present(c, "head_dim")) {
    m.head_dim = 128;  // Qwen3Config's default.
  } else {
    if (!Present(c, "head_dim") && m.hidden_size % m.num_heads != 0) {
      return absl::InvalidArgumentError(
          "config.json: \"hidden_size\" must be a multiple of \"num_attention_heads\"");
    }
    ASSIGN_OR_RETURN(m.head_dim, PositiveInt(c, "head_dim", m.hidden_size / m.num_heads));
  }
  if (m.head_dim % 2 != 0) {
    return absl::InvalidArgumentError("config.json: \"head_dim\" must be even for RoPE");
  }
  if (m.num_heads % m.num_kv_heads != 0) {
    return absl::InvalidArgumentError(
        "config.json: \"num_attention_heads\" must be a multiple of \"num_key_value_heads\"");
  }
  ASSIGN_OR_RETURN(bool attention_bias, Bool(c, "attention_bias", false));
  m.qkv_bias = d.qkv_bias || attention_bias;
  m.o_bias = attention_bias;
  ASSIGN_OR_RETURN(m.mlp_bias, Bool(c, "mlp_bias", false));
  m.qk_norm = m.model_type == "qwen3";
  RETURN_IF_ERROR(ParseRope(c, m.rope));
  if (m.model_type == "mistral") {
    if (!c.contains("sliding_window")) {
      m.sliding_window = 4096;  // MistralConfig's default.
    } else if (!c.at("sliding_window").is_null()) {
      ASSIGN_OR_RETURN(m.sliding_window, PositiveInt(c, "sliding_window", std::nullopt));
    }
  } else {
    ASSIGN_OR_RETURN(bool use_sliding_window, Bool(c, "use_sliding_window", false));
    if (use_sliding_window) {
      return absl::UnimplementedError("config.json: \"use_sliding_window\": true is not supported");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> TokenIds(const Json& c, const char* key) {
  std::vector<int64_t> ids;
  if (!Present(c, key)) return ids;
  const Json& value = c.at(key);
  if (value.is_number_integer()) {
    ids.push_back(value.get<int64_t>());
    return ids;
  }
  if (!value.is_array()) return WrongType(key, "an integer or a list of integers", value);
  for (const Json& id : value) {
    if (!id.is_number_integer()) return WrongType(key, "an integer or a list of integers", value);
    ids.push_back(id.get<int64_t>());
  }
  return ids;
}

}  // namespace

absl::StatusOr<ModelConfig> ParseModelConfig(const Json& config) {
  if (!config.is_object()) return absl::InvalidArgumentError("config.json: not a JSON object");
  if (!Present(config, "model_type") || !config.at("model_type").is_string()) {
    return absl::InvalidArgumentError("config.json: missing string \"model_type\"");
  }
  ModelConfig m;
  m.raw = config;
  m.model_type = config.at("model_type").get<std::string>();
  const std::string& type = m.model_type;
  if (type == "gpt2") {
    RETURN_IF_ERROR(ParseGpt2(config, m));
  } else if (type == "llama") {
    RETURN_IF_ERROR(ParseLlamaFamily(config, {32000, 4096, 11008, 2048, std::nullopt, false}, m));
  } else if (type == "mistral") {
    RETURN_IF_ERROR(ParseLlamaFamily(config, {32000, 4096, 14336, 131072, 8, false}, m));
  } else if (type == "qwen2") {
    RETURN_IF_ERROR(ParseLlamaFamily(config, {151936, 4096, 22016, 32768, 32, true}, m));
  } else if (type == "qwen3") {
    RETURN_IF_ERROR(ParseLlamaFamily(config, {151936, 4096, 22016, 32768, 32, false}, m));
  } else {
    return absl::UnimplementedError(
        absl::StrCat("config.json: model_type \"", type,
                     "\" is not supported (supported: gpt2, llama, mistral, qwen2, qwen3)"));
  }
  ASSIGN_OR_RETURN(m.initializer_range, Number(config, "initializer_range", 0.02));
  ASSIGN_OR_RETURN(m.eos_token_ids, TokenIds(config, "eos_token_id"));
  ASSIGN_OR_RETURN(std::vector<int64_t> pad, TokenIds(config, "pad_token_id"));
  if (!pad.empty()) m.pad_token_id = pad.front();
  if (Present(config, "architectures") && config.at("architectures").is_array() &&
      !config.at("architectures").empty() && config.at("architectures")[0].is_string()) {
    m.sequence_classification = absl::EndsWith(config.at("architectures")[0].get<std::string>(),
                                               "ForSequenceClassification");
  }
  return m;
}

}  // namespace rein::model
