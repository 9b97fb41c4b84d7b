#include "services/rollout/policy_weights.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/sum.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rein::rollout {
namespace {

std::string ShapeString(const at::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

}  // namespace

absl::Status CheckMatchesModel(const model::CausalLM& model, const tensor::TensorSet& set) {
  std::map<std::string, at::Tensor> expected;
  for (auto& [name, tensor] : model.NamedTrainableParameters()) expected.emplace(name, tensor);
  size_t matched = 0;
  for (const auto& [name, tensor] : set.tensors) {
    auto it = expected.find(name);
    if (it == expected.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("weights v", set.policy_version, ": tensor ", name,
                       " is not a weight of the policy model"));
    }
    if (!tensor.sizes().equals(it->second.sizes())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "weights v", set.policy_version, ": tensor ", name, " has shape ", ShapeString(tensor),
          " but the policy model's is ", ShapeString(it->second)));
    }
    if (!at::isFloatingType(tensor.scalar_type())) {
      return absl::InvalidArgumentError(absl::StrCat("weights v", set.policy_version, ": tensor ",
                                                     name, " is not floating point"));
    }
    // A diverged learner's NaN or infinity would make every later sample garbage. One pass
    // summing in float64 finds any (a NaN or an infinity makes the sum non-finite, and finite
    // bf16/f32 values cannot overflow a double), without isfinite's mask of one byte per weight.
    if (!std::isfinite(tensor.sum(at::kDouble).item<double>())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "weights v", set.policy_version, ": tensor ", name,
          " holds NaN or infinite values; the policy in use stays"));
    }
    ++matched;
  }
  if (matched != expected.size()) {
    for (const auto& named : set.tensors) expected.erase(named.first);
    return absl::InvalidArgumentError(
        absl::StrCat("weights v", set.policy_version, ": ", expected.size(),
                     " weights of the policy model are missing, e.g. ", expected.begin()->first));
  }
  return absl::OkStatus();
}

absl::Status CopyIntoModel(model::CausalLM& model, const tensor::TensorSet& set) {
  std::map<std::string, at::Tensor> destinations;
  for (auto& [name, tensor] : model.NamedTrainableParameters()) destinations.emplace(name, tensor);
  try {
    at::NoGradGuard no_grad;
    for (const auto& [name, tensor] : set.tensors) destinations.at(name).copy_(tensor);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("installing weights v", set.policy_version, ": ", e.what()));
  }
  return absl::OkStatus();
}

tensor::AssemblerOptions BoundByModel(const model::CausalLM& model,
                                      tensor::AssemblerOptions options) {
  int64_t tensors = 0;
  int64_t elements = 0;
  for (auto& [name, tensor] : model.NamedTrainableParameters()) {
    ++tensors;
    elements += tensor.numel();
  }
  options.max_tensors = std::min(options.max_tensors, tensors);
  options.max_total_bytes = std::min(options.max_total_bytes, elements * 8);
  return options;
}

}  // namespace rein::rollout
