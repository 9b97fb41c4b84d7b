// Gradient checkpointing: the same gradients as the plain backward, for both families, the
// padded and packed paths, full training and LoRA on a frozen base.
#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/model/causal_lm.h"
#include "common/model/testing/golden.h"

namespace rein::model {
namespace {

using testing::MaxAbsDiff;

std::unique_ptr<CausalLM> Small(const std::string& model_type) {
  const nlohmann::json config = {{"model_type", model_type},
                                 {"vocab_size", 64},
                                 {"hidden_size", 32},
                                 {"intermediate_size", 48},
                                 {"num_hidden_layers", 3},
                                 {"num_attention_heads", 4},
                                 {"num_key_value_heads", 2},
                                 {"max_position_embeddings", 64},
                                 {"initializer_range", 0.2},
                                 // GPT-2's names for the same shape.
                                 {"n_embd", 32},
                                 {"n_layer", 3},
                                 {"n_head", 4},
                                 {"n_inner", 48},
                                 {"n_positions", 64}};
  auto lm = CausalLM::CreateRandom(config, 17);
  REQUIRE(lm.ok());
  return std::move(*lm);
}

// Gradients of every trainable tensor for a loss over the padded and the packed forward.
std::vector<at::Tensor> Gradients(CausalLM& lm, bool checkpointing, bool packed) {
  lm.SetGradientCheckpointing(checkpointing);
  for (at::Tensor& p : lm.TrainableParameters()) p.requires_grad_(true);
  at::Tensor hidden;
  if (packed) {
    auto h = lm.HiddenPacked(at::tensor({5, 9, 2, 6, 5, 3, 1, 4, 1}, at::kLong), {6, 3});
    INFO(h.status());
    REQUIRE(h.ok());
    hidden = *h;
  } else {
    auto h =
        lm.Hidden({.input_ids = at::tensor({5, 9, 2, 6, 3, 1, 4, 1}, at::kLong).view({2, 4}),
                   .attention_mask = at::tensor({1, 1, 1, 1, 1, 1, 1, 0}, at::kLong).view({2, 4})});
    INFO(h.status());
    REQUIRE(h.ok());
    hidden = *h;
  }
  auto logits = lm.LmLogits(hidden);
  REQUIRE(logits.ok());
  logits->log_softmax(-1).select(-1, 7).sum().backward();
  std::vector<at::Tensor> grads;
  for (at::Tensor& p : lm.TrainableParameters()) {
    REQUIRE(p.grad().defined());
    grads.push_back(p.grad().clone());
    p.mutable_grad().reset();
  }
  return grads;
}

void CheckSameGradients(CausalLM& lm, bool packed) {
  const std::vector<at::Tensor> plain = Gradients(lm, false, packed);
  const std::vector<at::Tensor> recomputed = Gradients(lm, true, packed);
  REQUIRE(plain.size() == recomputed.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    INFO("tensor " << i);
    // The checkpointed forward computes as under autograd, so the gradients are the same bits.
    CHECK(MaxAbsDiff(plain[i], recomputed[i]) == 0.0);
  }
}

TEST_CASE("checkpointed layers give the plain path's gradients") {
  for (const char* type : {"llama", "qwen3", "gpt2"}) {
    INFO(type);
    auto lm = Small(type);
    CheckSameGradients(*lm, /*packed=*/false);
    if (std::string(type) != "gpt2") CheckSameGradients(*lm, /*packed=*/true);
  }
}

TEST_CASE("checkpointed layers train LoRA adapters on a frozen base") {
  auto lm = Small("qwen3");
  REQUIRE(lm->AddLora({.rank = 2, .alpha = 4}, 5).ok());
  {
    at::NoGradGuard no_grad;
    for (auto& [name, view] : lm->NamedAdapters()) view.normal_(0.0, 0.2);  // B nonzero too
  }
  CheckSameGradients(*lm, false);
  CheckSameGradients(*lm, true);
  for (const at::Tensor& p : lm->Parameters()) CHECK(!p.grad().defined());
}

TEST_CASE("checkpointing changes nothing without grad mode") {
  auto lm = Small("llama");
  const at::Tensor ids = at::tensor({1, 2, 3, 4}, at::kLong).view({1, 4});
  at::NoGradGuard no_grad;
  auto plain = lm->Logits({.input_ids = ids});
  lm->SetGradientCheckpointing(true);
  CHECK(lm->gradient_checkpointing());
  auto checkpointed = lm->Logits({.input_ids = ids});
  REQUIRE((plain.ok() && checkpointed.ok()));
  CHECK(MaxAbsDiff(*plain, *checkpointed) == 0.0);
}

}  // namespace
}  // namespace rein::model
