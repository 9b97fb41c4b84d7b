// The forward math. Faithful to transformers' eager modelling code:
//  - RMSNorm: x in float32, x * rsqrt(mean(x^2) + eps), back to the input dtype, then * weight.
//  - RoPE: inv_freq (see weights.cc); cos/sin of cat(pos * inv_freq, pos * inv_freq) in float32;
//    x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1). Here rotate_half(x) * sin is
//    computed as roll(x, D/2) * cat(-sin1, sin2), which is the same products.
//  - Attention: (q k^T) * scale + mask (0 or the dtype's lowest value), softmax in float32,
//    back to the dtype, times v. Llama family scale = head_dim^-0.5; GPT-2 1/sqrt(head_dim)
//    (and 1/(layer + 1) with scale_attn_by_inverse_layer_idx).
//  - GPT-2: Conv1D = x W + b (W stored transposed); gelu_new = the tanh approximation of GELU.
//  - Projections go through internal::Linear (a skinny-matrix kernel at decode shapes).
#include "common/model/internal/transformer.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/layer_norm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "common/model/internal/attention_inputs.h"
#include "common/model/internal/linear.h"

namespace rein::model::internal {

namespace {

// Score matrices up to this many elements get the mask materialised per head and fused into
// the product (one kernel); larger ones (long prefill) add it broadcast instead.
constexpr int64_t kMaxFusedMaskElements = int64_t{1} << 22;

double Lowest(at::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf:
      return static_cast<float>(std::numeric_limits<c10::Half>::lowest());
    case at::kBFloat16:
      return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
    case at::kDouble:
      return std::numeric_limits<double>::lowest();
    default:
      return std::numeric_limits<float>::lowest();
  }
}

// In-place updates save allocations but would corrupt tensors autograd saved.
bool InPlaceOk() { return !AutogradArithmetic(); }

at::Tensor Add(at::Tensor a, const at::Tensor& b) { return InPlaceOk() ? a.add_(b) : a.add(b); }

at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor xf = x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);
  at::Tensor inv = xf.pow(2).mean({-1}, /*keepdim=*/true);
  inv = InPlaceOk() ? inv.add_(eps).rsqrt_() : inv.add(eps).rsqrt();
  at::Tensor y = xf.mul(inv);
  if (y.scalar_type() != x.scalar_type()) y = y.to(x.scalar_type());
  return InPlaceOk() ? y.mul_(weight) : weight.mul(y);
}

at::Tensor Activate(Activation activation, const at::Tensor& x) {
  switch (activation) {
    case Activation::kSilu:
      return at::silu(x);
    case Activation::kGeluTanh:
      return at::gelu(x, "tanh");
    case Activation::kGeluExact:
      return at::gelu(x);
    case Activation::kRelu:
      return x.relu();
  }
  return x;
}

}  // namespace

at::Tensor Transformer::Norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const {
  if (config_.family == Family::kGpt2) {
    return at::layer_norm(x, {config_.hidden_size}, w, b, config_.norm_eps);
  }
  return RmsNorm(x, w, config_.norm_eps);
}

void Transformer::Prepare(const at::Tensor& positions, const at::Tensor& visible, int64_t batch,
                          int64_t new_tokens, AttentionInputs& in) const {
  const int64_t heads = config_.num_heads;
  in.batch = batch;
  in.tokens = new_tokens;
  in.keys = visible.size(-1);
  at::Tensor additive = Additive(visible);
  in.mask_fused = batch * heads * new_tokens * in.keys <= kMaxFusedMaskElements;
  const int64_t kv = config_.num_kv_heads;
  const int64_t group = heads / kv;
  at::Tensor mask5 = additive.view({batch, 1, 1, new_tokens, in.keys});
  in.mask = in.mask_fused ? mask5.expand({batch, kv, group, new_tokens, in.keys})
                                .reshape({batch * kv, group * new_tokens, in.keys})
                          : mask5;
  Rope(positions, in);
}

at::Tensor Transformer::Visible(const at::Tensor& query_pos, const at::Tensor& key_pos) const {
  at::Tensor visible = key_pos.le(query_pos);
  if (config_.sliding_window) {
    visible = visible.logical_and(key_pos.gt(query_pos.sub(*config_.sliding_window)));
  }
  return visible;
}

at::Tensor Transformer::Additive(const at::Tensor& visible) const {
  return at::zeros(visible.sizes(), visible.options().dtype(dtype_))
      .masked_fill_(visible.logical_not(), Lowest(dtype_));
}

void Transformer::Rope(const at::Tensor& positions, AttentionInputs& in) const {
  if (config_.family != Family::kLlama) return;
  at::Tensor freqs = positions.unsqueeze(-1).to(at::kFloat).mul(inv_freq_);  // [B, T, D/2]
  at::Tensor c = freqs.cos();
  at::Tensor s = freqs.sin();
  in.cos = at::cat({c, c}, -1).to(dtype_).unsqueeze(2);
  in.sin = at::cat({s.neg(), s}, -1).to(dtype_).unsqueeze(2);
}

at::Tensor Transformer::Embed(const at::Tensor& ids, const at::Tensor& positions) const {
  at::Tensor hidden = at::embedding(embed_, ids);
  if (config_.family == Family::kGpt2) hidden = Add(hidden, at::embedding(pos_embed_, positions));
  return hidden;
}

at::Tensor Transformer::Forward(const at::Tensor& ids, const at::Tensor& positions,
                                const at::Tensor& mask, bool adapters) const {
  const int64_t batch = ids.size(0);
  const int64_t tokens = ids.size(1);
  at::Tensor t = at::arange(tokens, ids.options());
  at::Tensor query_pos = t.view({1, tokens, 1});
  at::Tensor key_pos = t.view({1, 1, tokens});
  at::Tensor visible = Visible(query_pos, key_pos);  // [1, T, T]
  if (mask.defined()) {
    visible = visible.logical_and(mask.view({batch, 1, tokens}).ne(0));
  } else {
    visible = visible.expand({batch, tokens, tokens});
  }
  AttentionInputs in;
  in.adapters = adapters;
  Prepare(positions, visible, batch, tokens, in);
  return Layers(Embed(ids, positions), in);
}

at::Tensor Transformer::CausalMask(int64_t length, const at::TensorOptions& options) const {
  at::Tensor t = at::arange(length, options.dtype(at::kLong));
  return Additive(Visible(t.view({length, 1}), t.view({1, length})));
}

at::Tensor Transformer::ForwardPacked(const at::Tensor& ids, const at::Tensor& positions,
                                      const std::vector<int64_t>& lengths, bool adapters) const {
  AttentionInputs in;
  in.adapters = adapters;
  in.batch = 1;
  in.tokens = ids.size(1);
  in.keys = in.tokens;
  in.segments = lengths;
  for (int64_t length : lengths) {
    if (!in.segment_masks.count(length)) {
      in.segment_masks[length] = CausalMask(length, ids.options());
    }
  }
  Rope(positions, in);
  return Layers(Embed(ids, positions), in);
}

at::Tensor Transformer::ForwardCached(const at::Tensor& ids, const at::Tensor& positions,
                                      const CacheStep& step) const {
  const int64_t batch = ids.size(0);
  const int64_t tokens = ids.size(1);
  const int64_t capacity = step.cache->capacity();
  const int64_t kv = config_.num_kv_heads;
  AttentionInputs in;
  in.step = &step;
  in.read_cache = step.max_cache_length > 0;
  const int64_t keys = in.read_cache ? step.max_cache_length + tokens : tokens;
  const at::TensorOptions long_options = ids.options().dtype(at::kLong);
  at::Tensor lengths = step.cache_lengths.view({batch, 1, 1});
  at::Tensor new_pos = at::arange(tokens, long_options).view({1, tokens, 1});
  at::Tensor query_pos = lengths.add(new_pos);  // [B, T, 1]
  at::Tensor key_pos = at::arange(keys, long_options).view({1, 1, keys});
  at::Tensor visible = Visible(query_pos, key_pos);  // [B, T, L]
  at::Tensor slot_base = at::arange(batch, long_options).add(step.first_slot).mul(kv * capacity);
  at::Tensor head_base = at::arange(kv, long_options).mul(capacity);
  in.write_index = slot_base.view({batch, 1, 1}).add(query_pos).add(head_base.view({1, 1, kv}));
  Prepare(positions, visible, batch, tokens, in);
  return Layers(Embed(ids, positions), in);
}

at::Tensor Transformer::Project(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                                const std::vector<LoraPart>& lora,
                                const AttentionInputs& in) const {
  at::Tensor y = Linear(x, w, b);
  if (lora.empty() || !in.adapters) return y;
  return AddLoraOutput(std::move(y), x, lora, lora_scale_);
}

at::Tensor Transformer::Layer(int64_t i, at::Tensor hidden, const AttentionInputs& in) const {
  return config_.family == Family::kGpt2 ? Gpt2Layer(i, std::move(hidden), in)
                                         : LlamaLayer(i, std::move(hidden), in);
}

at::Tensor Transformer::Layers(at::Tensor hidden, const AttentionInputs& in) const {
  const int64_t n = static_cast<int64_t>(layers_.size());
  const bool checkpoint = checkpoint_layers_ && c10::GradMode::is_enabled();
  for (int64_t i = 0; i < n; ++i) {
    hidden = checkpoint ? CheckpointedLayer(i, hidden, in) : Layer(i, std::move(hidden), in);
  }
  return Norm(hidden, final_norm_w_, final_norm_b_);
}

at::Tensor Transformer::LlamaLayer(int64_t i, at::Tensor hidden, const AttentionInputs& in) const {
  const LayerWeights& w = layers_[static_cast<size_t>(i)];
  const int64_t b = in.batch, t = in.tokens;
  const int64_t h = config_.num_heads, kv = config_.num_kv_heads, d = config_.head_dim;
  at::Tensor x = RmsNorm(hidden, w.norm1_w, config_.norm_eps);
  at::Tensor qkv = Project(x, w.qkv_w, w.qkv_b, w.qkv_lora, in).view({b, t, h + 2 * kv, d});
  at::Tensor qk = qkv.narrow(2, 0, h + kv);
  if (config_.qk_norm) {
    at::Tensor norm_w = at::cat({w.q_norm_w.expand({h, d}), w.k_norm_w.expand({kv, d})});
    qk = RmsNorm(qk, norm_w, config_.norm_eps);
  }
  at::Tensor roped = qk.mul(in.cos);
  roped = InPlaceOk() ? roped.addcmul_(qk.roll({d / 2}, {-1}), in.sin)
                      : roped.add(qk.roll({d / 2}, {-1}).mul(in.sin));
  at::Tensor attn = Attend(i, roped.narrow(2, 0, h), roped.narrow(2, h, kv),
                           qkv.narrow(2, h + kv, kv), 1.0 / std::sqrt(static_cast<double>(d)), in);
  hidden = Add(std::move(hidden), Project(attn, w.o_w, w.o_b, w.o_lora, in));
  x = RmsNorm(hidden, w.norm2_w, config_.norm_eps);
  const int64_t inter = config_.intermediate_size;
  at::Tensor gate_up = Project(x, w.up_w, w.up_b, w.up_lora, in);
  at::Tensor act = Activate(config_.activation, gate_up.narrow(-1, 0, inter));
  at::Tensor up = gate_up.narrow(-1, inter, inter);
  act = (InPlaceOk() && config_.activation != Activation::kRelu) ? act.mul_(up) : act.mul(up);
  return Add(std::move(hidden), Project(act, w.down_w, w.down_b, w.down_lora, in));
}

at::Tensor Transformer::Gpt2Layer(int64_t i, at::Tensor hidden, const AttentionInputs& in) const {
  const LayerWeights& w = layers_[static_cast<size_t>(i)];
  const int64_t b = in.batch, t = in.tokens;
  const int64_t h = config_.num_heads, d = config_.head_dim;
  at::Tensor x = Norm(hidden, w.norm1_w, w.norm1_b);
  at::Tensor qkv = Linear(x, w.qkv_w, w.qkv_b).view({b, t, 3 * h, d});
  double scale = config_.scale_attn_weights ? 1.0 / std::sqrt(static_cast<double>(d)) : 1.0;
  if (config_.scale_attn_by_inverse_layer_idx) scale /= static_cast<double>(i + 1);
  at::Tensor attn =
      Attend(i, qkv.narrow(2, 0, h), qkv.narrow(2, h, h), qkv.narrow(2, 2 * h, h), scale, in);
  hidden = Add(std::move(hidden), Linear(attn, w.o_w, w.o_b));
  x = Norm(hidden, w.norm2_w, w.norm2_b);
  at::Tensor act = Activate(config_.activation, Linear(x, w.up_w, w.up_b));
  return Add(std::move(hidden), Linear(act, w.down_w, w.down_b));
}

at::Tensor Transformer::Attend(int64_t layer, const at::Tensor& q, const at::Tensor& k,
                               const at::Tensor& v, double scale, const AttentionInputs& in) const {
  const int64_t b = in.batch, t = in.tokens, l = in.keys;
  const int64_t h = config_.num_heads, kv = config_.num_kv_heads, d = config_.head_dim;
  const int64_t group = h / kv;
  if (!in.segments.empty()) return AttendPacked(q, k, v, scale, in);
  at::Tensor keys, values;
  if (in.step != nullptr) {
    KvCache& cache = *in.step->cache;
    at::Tensor& key_cache = cache.keys_[static_cast<size_t>(layer)];
    at::Tensor& value_cache = cache.values_[static_cast<size_t>(layer)];
    key_cache.view({-1, d}).index_put_({in.write_index}, k);
    value_cache.view({-1, d}).index_put_({in.write_index}, v);
    if (in.read_cache) {
      keys = key_cache.narrow(0, in.step->first_slot, b).narrow(2, 0, l).view({b * kv, l, d});
      values = value_cache.narrow(0, in.step->first_slot, b).narrow(2, 0, l).view({b * kv, l, d});
    }
  }
  if (!keys.defined()) {
    keys = k.permute({0, 2, 1, 3}).reshape({b * kv, t, d});
    values = v.permute({0, 2, 1, 3}).reshape({b * kv, t, d});
  }
  at::Tensor query = q.permute({0, 2, 1, 3}).reshape({b * kv, group * t, d});
  at::Tensor scores;
  if (in.mask_fused) {
    scores = in.mask.baddbmm(query, keys.transpose(1, 2), /*beta=*/1.0, /*alpha=*/scale);
  } else {
    scores = at::bmm(query, keys.transpose(1, 2));
    scores.view({b, kv, group, t, l}).mul_(scale).add_(in.mask);
  }
  at::Tensor probs = scores.softmax(-1, at::kFloat);
  if (dtype_ != at::kFloat) probs = probs.to(dtype_);
  return at::bmm(probs, values).view({b, h, t, d}).permute({0, 2, 1, 3}).reshape({b, t, h * d});
}

at::Tensor Transformer::AttendPacked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     double scale, const AttentionInputs& in) const {
  const int64_t h = config_.num_heads, kv = config_.num_kv_heads, d = config_.head_dim;
  const int64_t group = h / kv;
  std::vector<at::Tensor> outputs;
  outputs.reserve(in.segments.size());
  int64_t offset = 0;
  for (int64_t length : in.segments) {
    // This sequence's q [L, H, D], k and v [L, K, D] as [K, G*L, D] and [K, L, D].
    at::Tensor query = q.select(0, 0)
                           .narrow(0, offset, length)
                           .permute({1, 0, 2})
                           .reshape({kv, group * length, d});
    at::Tensor keys = k.select(0, 0).narrow(0, offset, length).permute({1, 0, 2});
    at::Tensor values = v.select(0, 0).narrow(0, offset, length).permute({1, 0, 2});
    const at::Tensor& mask = in.segment_masks.at(length);
    at::Tensor scores = mask.repeat({1, group, 1})
                            .baddbmm(query, keys.transpose(1, 2), /*beta=*/1.0, /*alpha=*/scale);
    at::Tensor probs = scores.softmax(-1, at::kFloat);
    if (dtype_ != at::kFloat) probs = probs.to(dtype_);
    outputs.push_back(
        at::bmm(probs, values).view({h, length, d}).permute({1, 0, 2}).reshape({length, h * d}));
    offset += length;
  }
  return at::cat(outputs).unsqueeze(0);
}

at::Tensor Transformer::LmLogits(const at::Tensor& hidden) const {
  at::Tensor logits = Linear(hidden, lm_head_);
  return logits.scalar_type() == at::kFloat ? logits : logits.to(at::kFloat);
}

at::Tensor Transformer::ScalarValues(const at::Tensor& hidden) const {
  at::Tensor values = Linear(hidden, score_).squeeze(-1);
  return values.scalar_type() == at::kFloat ? values : values.to(at::kFloat);
}

void Transformer::AllocateCache(KvCache& cache) const {
  const at::TensorOptions options = at::TensorOptions().dtype(dtype_).device(device_);
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    std::vector<int64_t> shape = {cache.slots(), config_.num_kv_heads, cache.capacity(),
                                  config_.head_dim};
    cache.keys_.push_back(at::zeros(shape, options));
    cache.values_.push_back(at::zeros(shape, options));
  }
}

}  // namespace rein::model::internal
