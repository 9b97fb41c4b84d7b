#include "common/tensor/internal/tensor_spec.h"

#include <ATen/EmptyTensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tensor/internal/huge_page_allocator.h"

namespace rein::tensor::internal {
namespace {

// Product of the non-zero dims, or an error when it overflows int64. Zero dims are left out of
// the product so that the check does not depend on where a zero sits in the shape, and so that
// the strides LibTorch derives (partial products of the same dims) cannot overflow either.
absl::StatusOr<int64_t> NonZeroExtent(absl::Span<const int64_t> shape, absl::string_view field) {
  int64_t extent = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) continue;
    if (__builtin_mul_overflow(extent, shape[i], &extent)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".shape[", i, "]: element count overflows int64"));
    }
  }
  return extent;
}

}  // namespace

absl::StatusOr<TensorSpec> ValidateSpec(rein::v1::DType dtype, absl::Span<const int64_t> shape,
                                        const DecodeLimits& limits, absl::string_view field) {
  TensorSpec spec;
  spec.dtype = dtype;
  absl::StatusOr<at::ScalarType> scalar_type = ToScalarType(dtype);
  if (!scalar_type.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".dtype: ", scalar_type.status().message()));
  }
  spec.scalar_type = *scalar_type;
  spec.itemsize = ItemSize(dtype);

  if (shape.size() > static_cast<size_t>(kMaxRank)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".shape: rank ", shape.size(), " exceeds ", kMaxRank));
  }
  bool has_zero_dim = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".shape[", i, "]: negative dimension ", shape[i]));
    }
    has_zero_dim = has_zero_dim || shape[i] == 0;
  }
  ASSIGN_OR_RETURN(int64_t extent, NonZeroExtent(shape, field));
  spec.numel = has_zero_dim ? 0 : extent;
  if (spec.numel > limits.max_elements) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".shape: ", spec.numel,
                                                   " elements exceed the limit of ",
                                                   limits.max_elements));
  }
  // Only reachable with a max_elements above INT64_MAX / 8.
  if (__builtin_mul_overflow(spec.numel, spec.itemsize, &spec.nbytes)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".shape: byte size overflows int64"));
  }
  spec.shape.assign(shape.begin(), shape.end());
  return spec;
}

absl::StatusOr<at::Tensor> AllocateTensor(const TensorSpec& spec, absl::string_view field) {
  try {
    if (spec.nbytes < kHugePageMinBytes) {
      return at::empty(spec.shape, at::TensorOptions().dtype(spec.scalar_type));
    }
    return at::Tensor(at::detail::empty_generic(spec.shape, GetHugePageAllocator(),
                                                c10::DispatchKeySet(c10::DispatchKey::CPU),
                                                spec.scalar_type, c10::nullopt));
  } catch (const std::exception& e) {
    return TorchError(absl::StatusCode::kResourceExhausted, e,
                      absl::StrCat(field, ": allocating ", spec.nbytes, " bytes"));
  }
}

absl::Status CheckEncodable(const at::Tensor& t, absl::string_view field) {
  if (!t.defined()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": undefined tensor"));
  }
  if (t.layout() != at::kStrided) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": layout ", c10::str(t.layout()), " is not dense"));
  }
  if (absl::StatusOr<rein::v1::DType> dtype = ToProtoDType(t.scalar_type()); !dtype.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", dtype.status().message()));
  }
  if (t.dim() > kMaxRank) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": rank ", t.dim(), " exceeds ", kMaxRank));
  }
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> ToContiguousCpu(const at::Tensor& t, absl::string_view field) {
  RETURN_IF_ERROR(CheckEncodable(t, field));
  try {
    at::Tensor dense = t;
    if (!dense.is_cpu()) {
      // Compact on the device first, so that only the tensor's own bytes cross to the host.
      dense = dense.contiguous().cpu();
    }
    // A lazily negated view stores the un-negated values; the wire needs the real ones.
    if (dense.is_neg()) dense = dense.resolve_neg();
    return dense.contiguous();  // Returns `dense` itself, no copy, when already contiguous.
  } catch (const std::exception& e) {
    return TorchError(absl::StatusCode::kInternal, e,
                      absl::StrCat(field, ": copying to contiguous host memory"));
  }
}

absl::Status TorchError(absl::StatusCode code, const std::exception& e,
                        absl::string_view context) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  const char* message = torch_error != nullptr ? torch_error->what_without_backtrace() : e.what();
  return absl::Status(code, absl::StrCat(context, ": ", message));
}

}  // namespace rein::tensor::internal
