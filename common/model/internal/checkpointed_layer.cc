// Gradient checkpointing of one decoder layer, as torch.utils.checkpoint's reentrant variant
// does it: the forward runs without autograd and keeps only the layer's input (and the
// attention inputs, which every layer shares); backward recomputes the layer with autograd on
// and back-propagates through the recomputed graph, which accumulates the weights' gradients
// into their .grad and gives the input's gradient to the layer below.
//
// The only TU of common/model that includes LibTorch's custom-function header.
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <vector>

#include "common/model/internal/attention_inputs.h"
#include "common/model/internal/linear.h"
#include "common/model/internal/transformer.h"

namespace rein::model::internal {

using torch::autograd::AutogradContext;
using torch::autograd::Variable;
using torch::autograd::variable_list;

struct LayerCheckpoint : public torch::autograd::Function<LayerCheckpoint> {
  // `self` must outlive the graph (the model outlives every backward through it).
  // The attention tensors need no gradient and may be undefined (no RoPE for GPT-2, no mask
  // for a packed batch): they travel in saved_data, not as inputs.
  static Variable forward(AutogradContext* ctx, const Variable& hidden, int64_t layer,
                          const Transformer* self, const Transformer::AttentionInputs* in) {
    ctx->save_for_backward({hidden});
    ctx->saved_data["cos"] = in->cos;
    ctx->saved_data["sin"] = in->sin;
    ctx->saved_data["mask"] = in->mask;
    ctx->saved_data["layer"] = layer;
    ctx->saved_data["self"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(self));
    ctx->saved_data["batch"] = in->batch;
    ctx->saved_data["tokens"] = in->tokens;
    ctx->saved_data["keys"] = in->keys;
    ctx->saved_data["mask_fused"] = in->mask_fused;
    ctx->saved_data["adapters"] = in->adapters;
    ctx->saved_data["segments"] = in->segments;
    // Autograd is off here; computing as under autograd keeps the saved input intact and gives
    // the bits the recomputation gives, so checkpointing changes no result.
    ScopedAutogradArithmetic same_arithmetic;
    return self->Layer(layer, hidden, *in);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const auto* self = reinterpret_cast<const Transformer*>(
        static_cast<intptr_t>(ctx->saved_data["self"].toInt()));
    Transformer::AttentionInputs in;
    in.batch = ctx->saved_data["batch"].toInt();
    in.tokens = ctx->saved_data["tokens"].toInt();
    in.keys = ctx->saved_data["keys"].toInt();
    in.mask_fused = ctx->saved_data["mask_fused"].toBool();
    in.adapters = ctx->saved_data["adapters"].toBool();
    in.cos = ctx->saved_data["cos"].toTensor();
    in.sin = ctx->saved_data["sin"].toTensor();
    in.mask = ctx->saved_data["mask"].toTensor();
    for (int64_t length : ctx->saved_data["segments"].toIntVector()) {
      in.segments.push_back(length);
      if (!in.segment_masks.count(length)) {
        in.segment_masks[length] = self->CausalMask(length, saved[0].options());
      }
    }
    at::Tensor input = saved[0].detach().requires_grad_(true);
    at::Tensor output;
    {
      at::AutoGradMode enable(true);
      output = self->Layer(ctx->saved_data["layer"].toInt(), input, in);
    }
    torch::autograd::backward({output}, {grads[0]});
    return {input.grad(), Variable(), Variable(), Variable()};
  }
};

at::Tensor Transformer::CheckpointedLayer(int64_t i, const at::Tensor& hidden,
                                          const AttentionInputs& in) const {
  // The first layer's input comes from the embedding, which LoRA freezes: without a gradient
  // to carry, autograd would never call backward, and the layer's adapters would not train.
  const at::Tensor input = hidden.requires_grad() ? hidden : hidden.detach().requires_grad_(true);
  return LayerCheckpoint::apply(input, i, this, &in);
}

}  // namespace rein::model::internal
