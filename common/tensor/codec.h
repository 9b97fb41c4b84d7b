// Conversion between at::Tensor and the wire message rein.v1.Tensor (proto/rein/v1/tensor.proto).
//
// Encoding copies a tensor's bytes into the message exactly once; decoding validates the message
// completely before allocating anything and then copies the bytes exactly once into a fresh
// tensor. Every function here reports failure as absl::Status; no exception (c10::Error or
// otherwise) leaves this API.
//
// Thread safety: all functions are free functions without shared state; calls on distinct
// messages may run concurrently.
#ifndef REIN_COMMON_TENSOR_CODEC_H_
#define REIN_COMMON_TENSOR_CODEC_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rein/v1/tensor.pb.h"

namespace rein::tensor {

// Highest rank the wire format carries (tensor.proto: "rank <= 8"). Encoders refuse more so
// that a sender fails before a receiver would.
inline constexpr int kMaxRank = 8;

// Maps a wire dtype to LibTorch's. INVALID_ARGUMENT for DTYPE_UNSPECIFIED and unknown values.
absl::StatusOr<at::ScalarType> ToScalarType(rein::v1::DType dtype);

// Maps a LibTorch scalar type to the wire dtype. INVALID_ARGUMENT for types the wire format
// does not carry (complex, quantized, u16/u32/u64, i8, i16, ...).
absl::StatusOr<rein::v1::DType> ToProtoDType(at::ScalarType type);

// Bytes per element of `dtype`, or 0 when `dtype` is unspecified or unknown.
int64_t ItemSize(rein::v1::DType dtype);

// Limits a receiver applies before it allocates memory for a tensor it was sent.
struct DecodeLimits {
  // Most elements one tensor may have. Default 2^31 (8 GiB of f32), larger than any single
  // parameter or batch tensor Rein moves, small enough that a corrupt shape cannot ask for
  // terabytes.
  int64_t max_elements = int64_t{1} << 31;
};

// Writes `t` into `*out`, replacing its previous contents.
// - `t` must be defined, strided (dense) and of a dtype ToProtoDType accepts, with rank <=
//   kMaxRank; otherwise INVALID_ARGUMENT.
// - A non-CPU (CUDA) tensor is made contiguous on its device and copied to host first; a
//   non-contiguous CPU tensor is made contiguous first. Either costs one extra copy.
// - The data bytes are copied once. A reused `out` keeps its data buffer's capacity, so
//   encoding into the same message repeatedly does not reallocate.
// `out` is owned by the caller and must not be null. On error `*out` is unspecified.
absl::Status EncodeTensor(const at::Tensor& t, rein::v1::Tensor* out);

// Builds a CPU, contiguous tensor from `p`, copying its data once.
// Validates, in order: dtype known; rank <= kMaxRank; every dim >= 0; numel computed without
// overflow and <= limits.max_elements; len(data) == numel * itemsize. Every violation is
// INVALID_ARGUMENT whose message starts with the offending field's path under `field`, e.g.
//   "experiences.values.shape[1]: negative dimension -2"
//   "weights.data: 12 bytes, expected 16 (numel 4 x itemsize 4)"
// RESOURCE_EXHAUSTED if the tensor cannot be allocated. The result does not alias `p`; from
// 32 MiB up it lives in its own huge-page mapping (internal/huge_page_allocator.h), which is
// returned to the system when the tensor is freed.
absl::StatusOr<at::Tensor> DecodeTensor(const rein::v1::Tensor& p, const DecodeLimits& limits,
                                        absl::string_view field = "tensor");

}  // namespace rein::tensor

#endif  // REIN_COMMON_TENSOR_CODEC_H_
