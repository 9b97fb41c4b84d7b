// Validation and allocation shared by the codec and the chunk assembler. Not part of the
// component's API: include common/tensor/codec.h or common/tensor/chunking.h instead.
#ifndef REIN_COMMON_TENSOR_INTERNAL_TENSOR_SPEC_H_
#define REIN_COMMON_TENSOR_INTERNAL_TENSOR_SPEC_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <exception>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/tensor/codec.h"
#include "rein/v1/tensor.pb.h"

namespace rein::tensor::internal {

// A dtype and shape that passed validation, with the sizes derived from them.
// Invariant: numel * itemsize == nbytes, computed without overflow.
struct TensorSpec {
  rein::v1::DType dtype = rein::v1::DTYPE_UNSPECIFIED;
  at::ScalarType scalar_type = at::ScalarType::Undefined;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  int64_t itemsize = 0;
  int64_t nbytes = 0;
};

// Checks dtype, rank, dims and the element limit (everything DecodeTensor checks except the
// data length). Errors are INVALID_ARGUMENT prefixed with "<field>.dtype" or "<field>.shape".
absl::StatusOr<TensorSpec> ValidateSpec(rein::v1::DType dtype, absl::Span<const int64_t> shape,
                                        const DecodeLimits& limits, absl::string_view field);

// An uninitialised CPU tensor of `spec`; RESOURCE_EXHAUSTED if LibTorch cannot allocate it.
absl::StatusOr<at::Tensor> AllocateTensor(const TensorSpec& spec, absl::string_view field);

// OK if `t` could be put on the wire: defined, dense (strided), of a dtype the wire carries,
// rank <= kMaxRank. Looks at metadata only. INVALID_ARGUMENT prefixed with `field` otherwise.
absl::Status CheckEncodable(const at::Tensor& t, absl::string_view field);

// `t` as a defined, dense, CPU, C-contiguous tensor with no lazy negation, of a dtype the wire
// carries and rank <= kMaxRank: `t` itself when it already is one, else a copy.
// CheckEncodable's errors for tensors that cannot be put on the wire.
absl::StatusOr<at::Tensor> ToContiguousCpu(const at::Tensor& t, absl::string_view field);

// A LibTorch (or standard) exception as a Status with code `code`, "<context>: <message>"; a
// c10::Error contributes its message without the C++ backtrace.
absl::Status TorchError(absl::StatusCode code, const std::exception& e,
                        absl::string_view context);

}  // namespace rein::tensor::internal

#endif  // REIN_COMMON_TENSOR_INTERNAL_TENSOR_SPEC_H_
