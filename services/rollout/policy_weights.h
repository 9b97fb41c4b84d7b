// Installing a streamed weight set (tensor::TensorSet from the learner's weight push) into a
// rollout replica's policy model in place, through CausalLM::NamedTrainableParameters' views:
// every weight, or only the LoRA adapters when the policy has them (learner.lora).
//
// A set matches a model when it holds exactly those tensor names with the same shapes and
// a floating-point dtype (converted to the model's dtype while copying). Checking is separate
// from copying so that the caller can check without excluding readers of the model, then copy
// under its exclusive lock.
//
// Thread safety: CheckMatchesModel only reads the model; CopyIntoModel writes every weight and
// needs exclusive access to the model (no forward pass may run meanwhile).
#ifndef REIN_SERVICES_ROLLOUT_POLICY_WEIGHTS_H_
#define REIN_SERVICES_ROLLOUT_POLICY_WEIGHTS_H_

#include "absl/status/status.h"
#include "common/model/causal_lm.h"
#include "common/tensor/chunking.h"

namespace rein::rollout {

// INVALID_ARGUMENT naming the first tensor that is missing, unexpected, of another shape, not
// floating point, or holding a NaN or infinite value.
absl::Status CheckMatchesModel(const model::CausalLM& model, const tensor::TensorSet& set);

// Copies every tensor of `set` (which CheckMatchesModel accepted) into `model`. INTERNAL if a
// copy fails (e.g. device out of memory); the model may then hold a mix of old and new weights.
absl::Status CopyIntoModel(model::CausalLM& model, const tensor::TensorSet& set);

// `options` with max_tensors and max_total_bytes cut to what a set matching `model` can hold
// (its weights at 8 bytes per element, the widest floating type): a stream that announces more
// is refused when its first chunk arrives, before anything is staged.
tensor::AssemblerOptions BoundByModel(const model::CausalLM& model,
                                      tensor::AssemblerOptions options);

}  // namespace rein::rollout

#endif  // REIN_SERVICES_ROLLOUT_POLICY_WEIGHTS_H_
