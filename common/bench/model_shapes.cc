#include "common/bench/model_shapes.h"

namespace rein::bench {

std::optional<nlohmann::json> ModelShape(const std::string& name) {
  if (name == "qwen3-0.6b") {
    return nlohmann::json{{"model_type", "qwen3"},
                          {"architectures", {"Qwen3ForCausalLM"}},
                          {"vocab_size", 151936},
                          {"hidden_size", 1024},
                          {"intermediate_size", 3072},
                          {"num_hidden_layers", 28},
                          {"num_attention_heads", 16},
                          {"num_key_value_heads", 8},
                          {"head_dim", 128},
                          {"max_position_embeddings", 40960},
                          {"rms_norm_eps", 1e-6},
                          {"rope_theta", 1000000.0},
                          {"tie_word_embeddings", true},
                          {"torch_dtype", "bfloat16"},  // as the published weights are
                          {"bos_token_id", 151643},
                          {"eos_token_id", 151645}};
  }
  if (name == "small") {
    return nlohmann::json{{"model_type", "llama"},    {"vocab_size", 8192},
                          {"hidden_size", 256},       {"intermediate_size", 704},
                          {"num_hidden_layers", 8},   {"num_attention_heads", 8},
                          {"num_key_value_heads", 4}, {"max_position_embeddings", 2048},
                          {"rms_norm_eps", 1e-5},     {"tie_word_embeddings", false}};
  }
  if (name == "tiny") {
    return nlohmann::json{
        {"model_type", "qwen3"},    {"vocab_size", 512},       {"hidden_size", 64},
        {"intermediate_size", 128}, {"num_hidden_layers", 2},  {"num_attention_heads", 4},
        {"num_key_value_heads", 2}, {"head_dim", 16},          {"max_position_embeddings", 1024},
        {"rms_norm_eps", 1e-6},     {"rope_theta", 1000000.0}, {"tie_word_embeddings", true}};
  }
  return std::nullopt;
}

}  // namespace rein::bench
