// Weight storage and names of the trunk, and RoPE frequencies.
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/rsub.h>
#include <ATen/ops/where.h>

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/model/internal/transformer.h"

namespace rein::model::internal {

Transformer::Transformer(ModelConfig config, at::ScalarType dtype, c10::Device device)
    : config_(std::move(config)), dtype_(dtype), device_(device) {
  if (config_.family == Family::kLlama) {
    inv_freq_ = RopeInverseFrequencies(config_).to(device_);
  }
}

int64_t Transformer::num_parameters() const {
  int64_t total = 0;
  for (const at::Tensor& leaf : leaves_) total += leaf.numel();
  return total;
}

void Transformer::Allocate(bool lm_head, bool scalar_head, const std::string& gpt2_prefix) {
  const at::TensorOptions options = at::TensorOptions().dtype(dtype_).device(device_);
  auto make = [&](at::IntArrayRef shape) {
    at::Tensor t = at::empty(shape, options);
    leaves_.push_back(t);
    return t;
  };
  auto name = [&](std::string n, const at::Tensor& view, InitKind init) {
    named_.push_back({std::move(n), view, init});
  };
  // A fused matrix of `parts` stacked along dim 0, each named.
  auto fused = [&](const std::vector<std::pair<std::string, int64_t>>& parts,
                   std::vector<int64_t> tail, InitKind init) {
    int64_t rows = 0;
    for (const auto& part : parts) rows += part.second;
    std::vector<int64_t> shape = {rows};
    shape.insert(shape.end(), tail.begin(), tail.end());
    at::Tensor t = make(shape);
    int64_t offset = 0;
    for (const auto& [part_name, part_rows] : parts) {
      name(part_name, t.narrow(0, offset, part_rows), init);
      offset += part_rows;
    }
    return t;
  };

  // GPT-2's Conv1D weight [in, out], stored as [out, in] like nn.Linear so that every projection
  // runs through the same kernel; its name refers to the transposed view.
  auto conv1d = [&](std::string n, int64_t in, int64_t out) {
    at::Tensor t = make({out, in});
    name(std::move(n), t.t(), InitKind::kNormal);
    return t;
  };
  const ModelConfig& c = config_;
  const int64_t hid = c.hidden_size, inter = c.intermediate_size;
  const int64_t q_rows = c.num_heads * c.head_dim, kv_rows = c.num_kv_heads * c.head_dim;
  std::string prefix = c.family == Family::kGpt2 ? gpt2_prefix : "model.";
  embed_ = make({c.vocab_size, hid});
  name(prefix + (c.family == Family::kGpt2 ? "wte.weight" : "embed_tokens.weight"), embed_,
       InitKind::kNormal);
  if (c.family == Family::kGpt2) {
    pos_embed_ = make({c.max_position_embeddings, hid});
    name(prefix + "wpe.weight", pos_embed_, InitKind::kNormal);
  }
  for (int64_t i = 0; i < c.num_layers; ++i) {
    LayerWeights w;
    if (c.family == Family::kGpt2) {
      const std::string n = absl::StrCat(prefix, "h.", i, ".");
      w.norm1_w = fused({{n + "ln_1.weight", hid}}, {}, InitKind::kOnes);
      w.norm1_b = fused({{n + "ln_1.bias", hid}}, {}, InitKind::kZeros);
      w.qkv_w = conv1d(n + "attn.c_attn.weight", hid, 3 * hid);
      w.qkv_b = fused({{n + "attn.c_attn.bias", 3 * hid}}, {}, InitKind::kZeros);
      w.o_w = conv1d(n + "attn.c_proj.weight", hid, hid);
      w.o_b = fused({{n + "attn.c_proj.bias", hid}}, {}, InitKind::kZeros);
      w.norm2_w = fused({{n + "ln_2.weight", hid}}, {}, InitKind::kOnes);
      w.norm2_b = fused({{n + "ln_2.bias", hid}}, {}, InitKind::kZeros);
      w.up_w = conv1d(n + "mlp.c_fc.weight", hid, inter);
      w.up_b = fused({{n + "mlp.c_fc.bias", inter}}, {}, InitKind::kZeros);
      w.down_w = conv1d(n + "mlp.c_proj.weight", inter, hid);
      w.down_b = fused({{n + "mlp.c_proj.bias", hid}}, {}, InitKind::kZeros);
    } else {
      const std::string n = absl::StrCat(prefix, "layers.", i, ".");
      const std::string a = n + "self_attn.", m = n + "mlp.";
      w.norm1_w = fused({{n + "input_layernorm.weight", hid}}, {}, InitKind::kOnes);
      w.qkv_w = fused({{a + "q_proj.weight", q_rows},
                       {a + "k_proj.weight", kv_rows},
                       {a + "v_proj.weight", kv_rows}},
                      {hid}, InitKind::kNormal);
      if (c.qkv_bias) {
        w.qkv_b = fused({{a + "q_proj.bias", q_rows},
                         {a + "k_proj.bias", kv_rows},
                         {a + "v_proj.bias", kv_rows}},
                        {}, InitKind::kZeros);
      }
      if (c.qk_norm) {
        w.q_norm_w = fused({{a + "q_norm.weight", c.head_dim}}, {}, InitKind::kOnes);
        w.k_norm_w = fused({{a + "k_norm.weight", c.head_dim}}, {}, InitKind::kOnes);
      }
      w.o_w = fused({{a + "o_proj.weight", hid}}, {q_rows}, InitKind::kNormal);
      if (c.o_bias) w.o_b = fused({{a + "o_proj.bias", hid}}, {}, InitKind::kZeros);
      w.norm2_w = fused({{n + "post_attention_layernorm.weight", hid}}, {}, InitKind::kOnes);
      w.up_w = fused({{m + "gate_proj.weight", inter}, {m + "up_proj.weight", inter}}, {hid},
                     InitKind::kNormal);
      if (c.mlp_bias) {
        w.up_b = fused({{m + "gate_proj.bias", inter}, {m + "up_proj.bias", inter}}, {},
                       InitKind::kZeros);
      }
      w.down_w = fused({{m + "down_proj.weight", hid}}, {inter}, InitKind::kNormal);
      if (c.mlp_bias) w.down_b = fused({{m + "down_proj.bias", hid}}, {}, InitKind::kZeros);
    }
    layers_.push_back(std::move(w));
  }
  const std::string final_norm = prefix + (c.family == Family::kGpt2 ? "ln_f." : "norm.");
  final_norm_w_ = fused({{final_norm + "weight", hid}}, {}, InitKind::kOnes);
  if (c.family == Family::kGpt2) {
    final_norm_b_ = fused({{final_norm + "bias", hid}}, {}, InitKind::kZeros);
  }
  if (lm_head) {
    lm_head_ = c.tie_word_embeddings
                   ? embed_
                   : fused({{"lm_head.weight", c.vocab_size}}, {hid}, InitKind::kNormal);
  }
  if (scalar_head) AllocateScalarHead();
}

NamedWeight Transformer::AllocateScalarHead() {
  score_ = at::empty({1, config_.hidden_size}, at::TensorOptions().dtype(dtype_).device(device_));
  leaves_.push_back(score_);
  named_.push_back({"score.weight", score_, InitKind::kNormal});
  return named_.back();
}

at::Tensor RopeInverseFrequencies(const ModelConfig& config) {
  const int64_t dim = config.head_dim;
  const RopeConfig& rope = config.rope;
  at::Tensor exponent =
      at::arange(0, dim, 2, at::kLong).to(at::kFloat).div(static_cast<double>(dim));
  at::Tensor inv_freq = at::pow(rope.theta, exponent).reciprocal();
  if (rope.type == RopeType::kLinear) return inv_freq.div(rope.factor);
  if (rope.type != RopeType::kLlama3) return inv_freq;
  const double old_context = static_cast<double>(rope.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / rope.low_freq_factor;
  const double high_freq_wavelen = old_context / rope.high_freq_factor;
  at::Tensor wavelen = inv_freq.reciprocal().mul(2.0 * M_PI);
  at::Tensor scaled = at::where(wavelen.gt(low_freq_wavelen), inv_freq.div(rope.factor), inv_freq);
  at::Tensor smooth = wavelen.reciprocal()
                          .mul(old_context)
                          .sub(rope.low_freq_factor)
                          .div(rope.high_freq_factor - rope.low_freq_factor);
  at::Tensor smoothed = at::rsub(smooth, 1.0).mul(scaled).div(rope.factor).add(smooth.mul(scaled));
  at::Tensor medium = wavelen.lt(high_freq_wavelen)
                          .logical_not()
                          .logical_and(wavelen.gt(low_freq_wavelen).logical_not());
  return at::where(medium, smoothed, scaled);
}

}  // namespace rein::model::internal
