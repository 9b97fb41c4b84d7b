#include "common/rl/internal/validate.h"

#include <ATen/ops/logical_and.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rein::rl::internal {

std::string ShapeString(at::IntArrayRef sizes) {
  return absl::StrCat("[", absl::StrJoin(sizes.begin(), sizes.end(), ", "), "]");
}

absl::Status CheckFloating(const at::Tensor& t, absl::string_view name, int64_t dim) {
  if (!t.defined()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": tensor is required"));
  }
  if (!at::isFloatingType(t.scalar_type())) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": expected a floating tensor, got ", c10::toString(t.scalar_type())));
  }
  if (dim >= 0 && t.dim() != dim) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": expected ", dim,
                                                   " dimensions, got shape ",
                                                   ShapeString(t.sizes())));
  }
  return absl::OkStatus();
}

absl::Status CheckShape(const at::Tensor& t, absl::string_view name, at::IntArrayRef sizes) {
  if (!t.defined()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": tensor is required"));
  }
  if (t.sizes() != sizes) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": expected shape ", ShapeString(sizes),
                                                   ", got ", ShapeString(t.sizes())));
  }
  return absl::OkStatus();
}

absl::Status CheckLike(const at::Tensor& t, absl::string_view name, const at::Tensor& ref,
                       absl::string_view ref_name) {
  if (absl::Status s = CheckFloating(t, name, -1); !s.ok()) return s;
  if (t.sizes() != ref.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": shape ", ShapeString(t.sizes()),
                                                   " does not match ", ref_name, " ",
                                                   ShapeString(ref.sizes())));
  }
  return absl::OkStatus();
}

absl::Status CheckMask(const at::Tensor& mask, absl::string_view name, const at::Tensor& ref,
                       absl::string_view ref_name) {
  if (!mask.defined()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": mask is required"));
  }
  if (mask.scalar_type() != at::kBool && !at::isFloatingType(mask.scalar_type())) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": expected a bool or floating mask, got ", c10::toString(mask.scalar_type())));
  }
  if (mask.sizes() != ref.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": shape ", ShapeString(mask.sizes()),
                                                   " does not match ", ref_name, " ",
                                                   ShapeString(ref.sizes())));
  }
  if (mask.scalar_type() != at::kBool && mask.numel() > 0) {
    const bool bad = at::logical_and(mask.ne(0), mask.ne(1)).any().item<bool>();
    if (bad) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": mask values must be 0 or 1"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRange(double value, absl::string_view name, double lo, double hi) {
  if (!std::isfinite(value) || value < lo || value > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", value, " is outside [", lo, ", ", hi, "]"));
  }
  return absl::OkStatus();
}

at::Tensor MaskAs(const at::Tensor& mask, const at::Tensor& like) {
  return mask.to(like.device(), like.scalar_type());
}

at::Tensor MaskBool(const at::Tensor& mask, const at::Tensor& like) {
  return mask.to(like.device(), at::kBool);
}

absl::Status TorchError(const std::exception& e, absl::string_view context) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr) {
    const auto& te = static_cast<const c10::Error&>(e);
    return absl::ResourceExhaustedError(absl::StrCat(context, ": ", te.what_without_backtrace()));
  }
  if (const auto* te = dynamic_cast<const c10::Error*>(&e); te != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": ", te->what_without_backtrace()));
  }
  return absl::InternalError(absl::StrCat(context, ": ", e.what()));
}

}  // namespace rein::rl::internal
