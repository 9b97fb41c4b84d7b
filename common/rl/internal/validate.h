// Argument validation and LibTorch error conversion shared by the rl component. Not part of the
// component's API.
//
// Every public function of common/rl validates its tensors with these helpers (so a bad shape
// is INVALID_ARGUMENT naming the argument) and runs its tensor code inside GuardTorch (so no
// c10::Error leaves the library).
#ifndef REIN_COMMON_RL_INTERNAL_VALIDATE_H_
#define REIN_COMMON_RL_INTERNAL_VALIDATE_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rein::rl::internal {

// "[2, 3]".
std::string ShapeString(at::IntArrayRef sizes);

// OK if `t` is defined, of a floating dtype and has `dim` dimensions (any if dim < 0).
absl::Status CheckFloating(const at::Tensor& t, absl::string_view name, int64_t dim);

// OK if `t` is defined and has exactly `sizes`.
absl::Status CheckShape(const at::Tensor& t, absl::string_view name, at::IntArrayRef sizes);

// CheckFloating(t, name, ref.dim()) and the same shape as `ref` (named `ref_name`).
absl::Status CheckLike(const at::Tensor& t, absl::string_view name, const at::Tensor& ref,
                       absl::string_view ref_name);

// OK if `mask` has the shape of `ref`, is bool or floating, and holds only 0 and 1.
absl::Status CheckMask(const at::Tensor& mask, absl::string_view name, const at::Tensor& ref,
                       absl::string_view ref_name);

// OK if `value` is finite and lo <= value <= hi.
absl::Status CheckRange(double value, absl::string_view name, double lo, double hi);

// `mask` (already checked) as a tensor of `like`'s dtype and device.
at::Tensor MaskAs(const at::Tensor& mask, const at::Tensor& like);
// `mask` (already checked) as a bool tensor on `like`'s device.
at::Tensor MaskBool(const at::Tensor& mask, const at::Tensor& like);

// A LibTorch exception as a Status: RESOURCE_EXHAUSTED for out-of-memory, INVALID_ARGUMENT for
// any other c10::Error (after our own checks, what is left is inputs LibTorch rejects: dtype or
// device mismatches), INTERNAL for other exceptions. The message is "<context>: <what>".
absl::Status TorchError(const std::exception& e, absl::string_view context);

// Runs `f` (returning absl::Status or absl::StatusOr<T>) and converts any exception it throws.
template <typename F>
auto GuardTorch(absl::string_view context, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return TorchError(e, context);
  }
}

}  // namespace rein::rl::internal

#endif  // REIN_COMMON_RL_INTERNAL_VALIDATE_H_
