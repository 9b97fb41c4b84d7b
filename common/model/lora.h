// Low-rank adapters (LoRA, Hu et al. 2021) on a CausalLM's projections, as PEFT defines them:
// a targeted projection y = x W^T computes y + (alpha / rank) (x A^T) B^T, with A [rank, in]
// drawn kaiming-uniform (bound 1 / sqrt(in)) and B [out, rank] zero, so new adapters change
// nothing until trained. The base weights stay as they are; a learner trains only A and B.
//
//   RETURN_IF_ERROR(policy->AddLora({.rank = 16, .alpha = 32}, seed));
//   ... train policy->TrainableParameters() ...
//   RETURN_IF_ERROR(SaveLoraAdapter(*policy, "/out/adapter", "/models/qwen3-0.6b"));  // PEFT
//   RETURN_IF_ERROR(policy->MergeLora());  // or fold them in, then policy->Save(...)
//
// Adapter names are the projection's Hugging Face name with ".lora_A.weight" / ".lora_B.weight"
// in place of ".weight" (e.g. "model.layers.0.self_attn.q_proj.lora_A.weight"); PEFT's files
// prefix them with "base_model.model.". Only the Llama family (Llama, Mistral, Qwen2, Qwen3) has
// adapters; GPT-2 is UNIMPLEMENTED.
#ifndef REIN_COMMON_MODEL_LORA_H_
#define REIN_COMMON_MODEL_LORA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rein::model {

class CausalLM;

// The projections an adapter may target: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj,
// down_proj.
const std::vector<std::string>& LoraTargetNames();

struct LoraOptions {
  int64_t rank = 8;     // r; at least 1.
  double alpha = 16.0;  // Scale alpha / r of the adapters' output; positive.
  // Projections to adapt in every layer, any of LoraTargetNames(). Default: all of them.
  std::vector<std::string> target_modules = LoraTargetNames();
  bool operator==(const LoraOptions&) const = default;
};

// INVALID_ARGUMENT naming the problem: rank < 1, alpha not positive and finite, no target, a
// target that is not one of LoraTargetNames(), or one named twice.
absl::Status CheckLoraOptions(const LoraOptions& options);

// Writes PEFT's adapter files into `dir` (created if missing; each file replaced atomically):
// adapter_config.json (peft_type LORA,
// task_type CAUSAL_LM, r, lora_alpha, target_modules, base_model_name_or_path = `base_model`)
// and adapter_model.safetensors (the adapters in float32 under PEFT's names). The folder loads
// in PEFT (PeftModel.from_pretrained). FAILED_PRECONDITION if the model has no adapters.
absl::Status SaveLoraAdapter(const CausalLM& model, const std::string& dir,
                             const std::string& base_model);

// The options adapter_config.json in `dir` describes. INVALID_ARGUMENT naming the file and key
// for what Rein cannot apply (another peft_type, lora_dropout aside, use_dora, bias other than
// "none", fan_in_fan_out), NOT_FOUND without the file.
absl::StatusOr<LoraOptions> ReadLoraConfig(const std::string& dir);

// Gives `model` (which must have no adapters: FAILED_PRECONDITION) the adapters of PEFT folder
// `dir`. INVALID_ARGUMENT naming the tensor for a missing, unexpected or misshapen adapter.
absl::Status LoadLoraAdapter(CausalLM& model, const std::string& dir);

}  // namespace rein::model

#endif  // REIN_COMMON_MODEL_LORA_H_
