#include "common/rl/optim.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/stack.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <numbers>
#include <sstream>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rl/internal/validate.h"
#include "common/status/status_macros.h"

namespace rein::rl {
namespace {

absl::Status CheckAdamWOptions(const AdamWOptions& o) {
  RETURN_IF_ERROR(internal::CheckRange(o.lr, "lr", 0, 1e9));
  if (!(o.beta1 >= 0 && o.beta1 < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("beta1: must be in [0, 1), got ", o.beta1));
  }
  if (!(o.beta2 >= 0 && o.beta2 < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("beta2: must be in [0, 1), got ", o.beta2));
  }
  if (!(o.eps > 0) || !std::isfinite(o.eps)) {
    return absl::InvalidArgumentError(absl::StrCat("eps: must be > 0, got ", o.eps));
  }
  return internal::CheckRange(o.weight_decay, "weight_decay", 0, 1e9);
}

std::unique_ptr<torch::optim::AdamWOptions> GroupOptions(const AdamWOptions& o,
                                                         double weight_decay) {
  auto options = std::make_unique<torch::optim::AdamWOptions>(o.lr);
  options->betas(std::make_tuple(o.beta1, o.beta2)).eps(o.eps).weight_decay(weight_decay);
  return options;
}

using TorchState = torch::optim::AdamWParamState;

// torch::optim keys a parameter's state by its TensorImpl: by the address as text
// (c10::guts::to_string, an ostream of the pointer) in LibTorch 1.13, by the pointer itself in 2.
template <typename StateMap>
typename StateMap::key_type StateKey(const StateMap&, const at::Tensor& p) {
  if constexpr (std::is_same_v<typename StateMap::key_type, std::string>) {
    std::ostringstream key;
    key << p.unsafeGetTensorImpl();
    return key.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

int64_t TensorBytes(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel() * t.element_size()) : 0;
}

}  // namespace

// A float32 master copy for a reduced-precision parameter; undefined otherwise.
at::Tensor MasterOf(const at::Tensor& p) {
  if (p.scalar_type() != at::kBFloat16 && p.scalar_type() != at::kHalf) return at::Tensor();
  at::NoGradGuard no_grad;
  return p.detach().to(at::kFloat, /*non_blocking=*/false, /*copy=*/true).requires_grad_(true);
}

AdamW::AdamW(std::vector<at::Tensor> params, std::vector<at::Tensor> masters,
             std::unique_ptr<torch::optim::AdamW> optimizer)
    : params_(std::move(params)), masters_(std::move(masters)), optimizer_(std::move(optimizer)) {}

const at::Tensor& AdamW::Optimised(size_t i) const {
  return masters_.at(i).defined() ? masters_[i] : params_.at(i);
}

AdamW::~AdamW() = default;

absl::StatusOr<std::unique_ptr<AdamW>> AdamW::Create(std::vector<at::Tensor> params,
                                                     const AdamWOptions& options) {
  RETURN_IF_ERROR(CheckAdamWOptions(options));
  if (params.empty()) return absl::InvalidArgumentError("params: no parameter to optimise");
  std::vector<at::Tensor> decayed, undecayed;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string name = absl::StrCat("params[", i, "]");
    RETURN_IF_ERROR(internal::CheckFloating(params[i], name, -1));
    if (!params[i].requires_grad()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": does not require grad"));
    }
    (options.decay_1d_params || params[i].dim() >= 2 ? decayed : undecayed).push_back(params[i]);
  }
  return internal::GuardTorch("AdamW::Create", [&]() -> absl::StatusOr<std::unique_ptr<AdamW>> {
    std::vector<at::Tensor> ordered = decayed;
    ordered.insert(ordered.end(), undecayed.begin(), undecayed.end());
    std::vector<at::Tensor> masters;
    std::vector<at::Tensor> optimised[2];  // decayed, undecayed
    for (size_t i = 0; i < ordered.size(); ++i) {
      masters.push_back(MasterOf(ordered[i]));
      optimised[i < decayed.size() ? 0 : 1].push_back(masters.back().defined() ? masters.back()
                                                                               : ordered[i]);
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    if (!decayed.empty()) {
      groups.emplace_back(optimised[0], GroupOptions(options, options.weight_decay));
    }
    if (!undecayed.empty()) groups.emplace_back(optimised[1], GroupOptions(options, 0.0));
    auto optimizer = std::make_unique<torch::optim::AdamW>(
        std::move(groups), *GroupOptions(options, options.weight_decay));
    return std::unique_ptr<AdamW>(
        new AdamW(std::move(ordered), std::move(masters), std::move(optimizer)));
  });
}

absl::Status AdamW::Step() {
  return internal::GuardTorch("AdamW::Step", [&]() -> absl::Status {
    // The reduced-precision gradient is spent once converted, and the float32 one once
    // applied: freeing each as soon as it is (the whole model's worth at 0.6B is gigabytes).
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!masters_[i].defined()) continue;
      const at::Tensor& grad = params_[i].grad();
      masters_[i].mutable_grad() = grad.defined() ? grad.to(at::kFloat) : at::Tensor();
      if (grad.defined()) params_[i].mutable_grad() = at::Tensor();
    }
    optimizer_->step();
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (masters_[i].defined() && masters_[i].grad().defined()) {
        params_[i].copy_(masters_[i]);
        masters_[i].mutable_grad() = at::Tensor();
      }
    }
    return absl::OkStatus();
  });
}

void AdamW::ZeroGrad() {
  for (size_t i = 0; i < params_.size(); ++i) {
    for (at::Tensor* t : {&params_[i], &masters_[i]}) {
      if (t->defined() && t->grad().defined()) t->mutable_grad() = at::Tensor();
    }
  }
}

absl::Status AdamW::SetMaster(size_t i, const at::Tensor& value) {
  if (!masters_.at(i).defined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("params[", i, "] is float32 or wider: it has no master copy"));
  }
  if (!value.sizes().equals(masters_[i].sizes())) {
    return absl::InvalidArgumentError(absl::StrCat("master of params[", i, "]: wrong shape"));
  }
  return internal::GuardTorch("AdamW::SetMaster", [&]() -> absl::Status {
    at::NoGradGuard no_grad;
    masters_[i].copy_(value);
    params_[i].copy_(masters_[i]);
    return absl::OkStatus();
  });
}

void AdamW::SetLearningRate(double lr) {
  for (torch::optim::OptimizerParamGroup& group : optimizer_->param_groups()) {
    group.options().set_lr(lr);
  }
}

double AdamW::learning_rate() const {
  return optimizer_->param_groups().front().options().get_lr();
}

std::optional<AdamWParamState> AdamW::ParamState(size_t i) const {
  const auto& states = optimizer_->state();
  auto it = states.find(StateKey(states, Optimised(i)));
  if (it == states.end()) return std::nullopt;
  const auto& s = static_cast<const TorchState&>(*it->second);
  return AdamWParamState{.step = static_cast<int64_t>(s.step()),
                         .exp_avg = s.exp_avg(),
                         .exp_avg_sq = s.exp_avg_sq()};
}

void AdamW::SetParamState(size_t i, AdamWParamState state) {
  auto s = std::make_unique<TorchState>();
  s->step(state.step);
  s->exp_avg(std::move(state.exp_avg));
  s->exp_avg_sq(std::move(state.exp_avg_sq));
  auto& states = optimizer_->state();
  states[StateKey(states, Optimised(i))] = std::move(s);
}

void AdamW::ClearParamState(size_t i) {
  auto& states = optimizer_->state();
  states.erase(StateKey(states, Optimised(i)));
}

int64_t AdamW::StateBytes() const {
  int64_t bytes = 0;
  for (const auto& [key, state] : optimizer_->state()) {
    const auto& s = static_cast<const TorchState&>(*state);
    bytes += TensorBytes(s.exp_avg()) + TensorBytes(s.exp_avg_sq()) +
             TensorBytes(s.max_exp_avg_sq());
  }
  for (const at::Tensor& master : masters_) bytes += TensorBytes(master);
  return bytes;
}

absl::StatusOr<double> ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm) {
  if (!(max_norm > 0) || !std::isfinite(max_norm)) {
    return absl::InvalidArgumentError(absl::StrCat("max_norm: must be > 0, got ", max_norm));
  }
  return internal::GuardTorch("ClipGradNorm", [&]() -> absl::StatusOr<double> {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> grads;
    std::vector<at::Tensor> norms;
    for (const at::Tensor& p : params) {
      if (!p.defined() || !p.grad().defined()) continue;
      grads.push_back(p.grad());
      norms.push_back(p.grad().norm().to(at::kDouble));  // stays on device: one sync below
    }
    if (grads.empty()) return 0.0;
    const double total = at::stack(norms).square().sum().sqrt().item<double>();
    if (!std::isfinite(total)) return total;
    const double coef = max_norm / (total + 1e-6);
    if (coef < 1.0) {
      for (at::Tensor& g : grads) g.mul_(coef);
    }
    return total;
  });
}

absl::StatusOr<LrSchedule> LrSchedule::Create(const LrScheduleOptions& options) {
  RETURN_IF_ERROR(internal::CheckRange(options.peak_lr, "peak_lr", 0, 1e9));
  RETURN_IF_ERROR(internal::CheckRange(options.min_lr_ratio, "min_lr_ratio", 0, 1));
  if (options.warmup_steps < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("warmup_steps: must be >= 0, got ", options.warmup_steps));
  }
  if (options.decay != LrDecay::kConstant && options.total_steps < options.warmup_steps) {
    return absl::InvalidArgumentError(
        absl::StrCat("total_steps: ", options.total_steps, " is less than warmup_steps ",
                     options.warmup_steps));
  }
  return LrSchedule(options);
}

double LrSchedule::LearningRate(int64_t step) const {
  const double peak = options_.peak_lr;
  const int64_t warmup = options_.warmup_steps;
  if (step < 0) step = 0;
  if (step < warmup) {
    return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  }
  const double min = options_.min_lr_ratio * peak;
  const double span = static_cast<double>(std::max<int64_t>(1, options_.total_steps - warmup));
  const double p = std::min(1.0, static_cast<double>(step - warmup) / span);
  switch (options_.decay) {
    case LrDecay::kConstant:
      return peak;
    case LrDecay::kLinear:
      return min + (peak - min) * (1.0 - p);
    case LrDecay::kCosine:
      return min + (peak - min) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  }
  return peak;
}

absl::StatusOr<double> GlobalNormalizer(const at::Tensor& mask, Aggregation aggregation) {
  if (!mask.defined() || mask.dim() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mask: expected shape [B, T], got ",
        mask.defined() ? internal::ShapeString(mask.sizes()) : "none"));
  }
  RETURN_IF_ERROR(internal::CheckMask(mask, "mask", mask, "mask"));
  return internal::GuardTorch("GlobalNormalizer", [&]() -> absl::StatusOr<double> {
    const at::Tensor keep = mask.to(at::kBool);
    if (aggregation == Aggregation::kTokenMean) return keep.sum().item<double>();
    return keep.any(1).sum().item<double>();
  });
}

absl::StatusOr<double> AccumulateGradients(
    int64_t batch_size, int64_t micro_batch_size,
    absl::FunctionRef<absl::StatusOr<at::Tensor>(const MicroBatch&)> micro_loss) {
  if (batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("batch_size: must be >= 1, got ", batch_size));
  }
  if (micro_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("micro_batch_size: must be >= 1, got ", micro_batch_size));
  }
  double total = 0;
  for (int64_t begin = 0; begin < batch_size; begin += micro_batch_size) {
    const MicroBatch micro{begin, std::min(batch_size, begin + micro_batch_size)};
    ASSIGN_OR_RETURN(const at::Tensor loss, micro_loss(micro));
    if (!loss.defined() || loss.numel() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "micro_loss: rows [", micro.begin, ", ", micro.end, ") did not give a scalar loss"));
    }
    RETURN_IF_ERROR(internal::GuardTorch("AccumulateGradients", [&]() -> absl::Status {
      if (loss.requires_grad()) loss.backward();
      total += loss.item<double>();
      return absl::OkStatus();
    }));
  }
  return total;
}

}  // namespace rein::rl
