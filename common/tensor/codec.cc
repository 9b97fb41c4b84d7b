#include "common/tensor/codec.h"

#include <bit>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/status/status_macros.h"
#include "common/tensor/internal/tensor_spec.h"

namespace rein::tensor {

// The wire format is little-endian and the codec copies bytes verbatim; a big-endian host
// would need a byte swap on both paths.
static_assert(std::endian::native == std::endian::little,
              "rein::tensor copies tensor bytes verbatim and needs a little-endian host");

absl::StatusOr<at::ScalarType> ToScalarType(rein::v1::DType dtype) {
  switch (dtype) {
    case rein::v1::DTYPE_BF16: return at::ScalarType::BFloat16;
    case rein::v1::DTYPE_F16: return at::ScalarType::Half;
    case rein::v1::DTYPE_F32: return at::ScalarType::Float;
    case rein::v1::DTYPE_F64: return at::ScalarType::Double;
    case rein::v1::DTYPE_I32: return at::ScalarType::Int;
    case rein::v1::DTYPE_I64: return at::ScalarType::Long;
    case rein::v1::DTYPE_BOOL: return at::ScalarType::Bool;
    case rein::v1::DTYPE_U8: return at::ScalarType::Byte;
    default: break;  // DTYPE_UNSPECIFIED, and values from a newer proto this build lacks.
  }
  const std::string& name = rein::v1::DType_Name(dtype);  // Empty for unknown values.
  const int value = static_cast<int>(dtype);
  return absl::InvalidArgumentError(
      name.empty() ? absl::StrCat("unsupported dtype ", value)
                   : absl::StrCat("unsupported dtype ", name, " (", value, ")"));
}

absl::StatusOr<rein::v1::DType> ToProtoDType(at::ScalarType type) {
  switch (type) {
    case at::ScalarType::BFloat16: return rein::v1::DTYPE_BF16;
    case at::ScalarType::Half: return rein::v1::DTYPE_F16;
    case at::ScalarType::Float: return rein::v1::DTYPE_F32;
    case at::ScalarType::Double: return rein::v1::DTYPE_F64;
    case at::ScalarType::Int: return rein::v1::DTYPE_I32;
    case at::ScalarType::Long: return rein::v1::DTYPE_I64;
    case at::ScalarType::Bool: return rein::v1::DTYPE_BOOL;
    case at::ScalarType::Byte: return rein::v1::DTYPE_U8;
    default: break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("scalar type ", c10::toString(type), " has no wire dtype"));
}

int64_t ItemSize(rein::v1::DType dtype) {
  switch (dtype) {
    case rein::v1::DTYPE_BF16:
    case rein::v1::DTYPE_F16: return 2;
    case rein::v1::DTYPE_F32:
    case rein::v1::DTYPE_I32: return 4;
    case rein::v1::DTYPE_F64:
    case rein::v1::DTYPE_I64: return 8;
    case rein::v1::DTYPE_BOOL:
    case rein::v1::DTYPE_U8: return 1;
    default: return 0;
  }
}

absl::Status EncodeTensor(const at::Tensor& t, rein::v1::Tensor* out) {
  ASSIGN_OR_RETURN(at::Tensor dense, internal::ToContiguousCpu(t, "tensor"));
  ASSIGN_OR_RETURN(rein::v1::DType dtype, ToProtoDType(dense.scalar_type()));
  out->set_dtype(dtype);
  const at::IntArrayRef sizes = dense.sizes();
  out->mutable_shape()->Assign(sizes.begin(), sizes.end());
  const size_t nbytes = dense.nbytes();
  if (nbytes == 0) {
    out->clear_data();  // data_ptr() may be null for an empty tensor.
    return absl::OkStatus();
  }
  // Not set_data(ptr, n): in protobuf 3.21 that builds a temporary std::string and copies it
  // again into the field (two copies and a malloc). assign() copies once, does not zero-fill
  // and reuses the capacity of a message that is encoded into repeatedly.
  out->mutable_data()->assign(static_cast<const char*>(dense.data_ptr()), nbytes);
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> DecodeTensor(const rein::v1::Tensor& p, const DecodeLimits& limits,
                                        absl::string_view field) {
  ASSIGN_OR_RETURN(internal::TensorSpec spec,
                   internal::ValidateSpec(p.dtype(),
                                          absl::MakeConstSpan(p.shape().data(), p.shape().size()),
                                          limits, field));
  const std::string& data = p.data();
  if (data.size() != static_cast<size_t>(spec.nbytes)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".data: ", data.size(),
                                                   " bytes, expected ", spec.nbytes, " (numel ",
                                                   spec.numel, " x itemsize ", spec.itemsize,
                                                   ")"));
  }
  ASSIGN_OR_RETURN(at::Tensor t, internal::AllocateTensor(spec, field));
  if (spec.nbytes > 0) std::memcpy(t.data_ptr(), data.data(), data.size());
  return t;
}

}  // namespace rein::tensor
