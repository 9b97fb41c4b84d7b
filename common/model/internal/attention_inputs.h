// The per-forward attention inputs every decoder layer shares (masks, RoPE tables, cache
// bookkeeping): private to the Transformer's TUs (transformer.cc, checkpointed_layer.cc).
#ifndef REIN_COMMON_MODEL_INTERNAL_ATTENTION_INPUTS_H_
#define REIN_COMMON_MODEL_INTERNAL_ATTENTION_INPUTS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <vector>

#include "common/model/internal/transformer.h"

namespace rein::model::internal {

struct Transformer::AttentionInputs {
  int64_t batch = 0;    // B.
  int64_t tokens = 0;   // T.
  int64_t keys = 0;     // L, key positions attended over.
  at::Tensor cos, sin;  // [B, T, 1, D] in the model dtype (Llama family).
  // Additive mask: [B*K, G*T, L] when fused into the score product, else [B, 1, 1, T, L].
  at::Tensor mask;
  bool mask_fused = false;
  const CacheStep* step = nullptr;
  at::Tensor write_index;  // [B, T, K] rows of the flattened [slots*K*capacity, D] cache.
  bool read_cache = false;
  // A packed batch (ForwardPacked): the sequences' lengths, and their masks by length.
  std::vector<int64_t> segments;
  std::map<int64_t, at::Tensor> segment_masks;
  bool adapters = true;  // LoRA adapters (if any) on; false computes the base model.
};

}  // namespace rein::model::internal

#endif  // REIN_COMMON_MODEL_INTERNAL_ATTENTION_INPUTS_H_
