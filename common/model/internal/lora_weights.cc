// LoRA adapters of the trunk: where each target sits in the fused projections, their storage
// and names, their output, and folding them into the base weights.
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/model/internal/linear.h"
#include "common/model/internal/transformer.h"

namespace rein::model::internal {
namespace {

// Where a target's rows sit in layer weights `w` of config `c`.
struct TargetSite {
  std::vector<LoraPart>* parts;  // The projection's adapters.
  int64_t in = 0;                // Input features.
  int64_t offset = 0;            // First output row of the target in the (fused) matrix.
  int64_t rows = 0;
  const char* block = "";  // "self_attn" or "mlp".
};

TargetSite Locate(const std::string& target, const ModelConfig& c, LayerWeights& w) {
  const int64_t q_rows = c.num_heads * c.head_dim;
  const int64_t kv_rows = c.num_kv_heads * c.head_dim;
  const int64_t hid = c.hidden_size, inter = c.intermediate_size;
  if (target == "q_proj") return {&w.qkv_lora, hid, 0, q_rows, "self_attn"};
  if (target == "k_proj") return {&w.qkv_lora, hid, q_rows, kv_rows, "self_attn"};
  if (target == "v_proj") return {&w.qkv_lora, hid, q_rows + kv_rows, kv_rows, "self_attn"};
  if (target == "o_proj") return {&w.o_lora, q_rows, 0, hid, "self_attn"};
  if (target == "gate_proj") return {&w.up_lora, hid, 0, inter, "mlp"};
  if (target == "up_proj") return {&w.up_lora, hid, inter, inter, "mlp"};
  return {&w.down_lora, inter, 0, hid, "mlp"};  // down_proj; CheckLoraOptions ran first
}

// The fused base matrix a projection's adapters belong to.
const at::Tensor& BaseOf(const std::vector<LoraPart>& parts, const LayerWeights& w) {
  if (&parts == &w.qkv_lora) return w.qkv_w;
  if (&parts == &w.o_lora) return w.o_w;
  if (&parts == &w.up_lora) return w.up_w;
  return w.down_w;
}

}  // namespace

void Transformer::AddLora(const LoraOptions& options) {
  const at::TensorOptions tensor_options = at::TensorOptions().dtype(dtype_).device(device_);
  lora_ = options;
  lora_scale_ = options.alpha / static_cast<double>(options.rank);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string layer = absl::StrCat("model.layers.", i, ".");
    for (const std::string& target : options.target_modules) {
      TargetSite site = Locate(target, config_, layers_[i]);
      LoraPart part{at::empty({options.rank, site.in}, tensor_options),
                    at::empty({site.rows, options.rank}, tensor_options), site.offset};
      const std::string name = absl::StrCat(layer, site.block, ".", target);
      lora_named_.push_back({name + ".lora_A.weight", part.a, InitKind::kFanInUniform});
      lora_named_.push_back({name + ".lora_B.weight", part.b, InitKind::kZeros});
      site.parts->push_back(std::move(part));
    }
  }
}

void Transformer::MergeLora() {
  at::NoGradGuard no_grad;
  for (LayerWeights& w : layers_) {
    for (std::vector<LoraPart>* parts : {&w.qkv_lora, &w.o_lora, &w.up_lora, &w.down_lora}) {
      const at::Tensor& base = BaseOf(*parts, w);
      for (const LoraPart& part : *parts) {
        at::Tensor delta = part.b.to(at::kFloat).mm(part.a.to(at::kFloat)).mul(lora_scale_);
        at::Tensor rows = base.narrow(0, part.offset, part.b.size(0));
        rows.copy_(rows.to(at::kFloat).add(delta));
      }
    }
  }
  DropLora();
}

void Transformer::DropLora() {
  for (LayerWeights& w : layers_) {
    for (std::vector<LoraPart>* parts : {&w.qkv_lora, &w.o_lora, &w.up_lora, &w.down_lora}) {
      parts->clear();
    }
  }
  lora_.reset();
  lora_scale_ = 0;
  lora_named_.clear();
}

at::Tensor AddLoraOutput(at::Tensor y, const at::Tensor& x, const std::vector<LoraPart>& parts,
                         double scale) {
  // One product for every part's A (their rank-r outputs side by side), then one per B.
  std::vector<at::Tensor> as;
  as.reserve(parts.size());
  for (const LoraPart& part : parts) as.push_back(part.a);
  at::Tensor low = Linear(x, as.size() == 1 ? as.front() : at::cat(as)).mul(scale);
  const int64_t rank = parts.front().a.size(0);
  for (size_t j = 0; j < parts.size(); ++j) {
    const LoraPart& part = parts[j];
    at::Tensor delta = Linear(low.narrow(-1, static_cast<int64_t>(j) * rank, rank), part.b);
    y.narrow(-1, part.offset, part.b.size(0)).add_(delta);
  }
  return y;
}

}  // namespace rein::model::internal
