// Sending a large named tensor set (a policy's weights) as a stream of rein.v1.TensorChunk, and
// rebuilding it on the receiving side. See TensorChunk in proto/rein/v1/tensor.proto for the
// stream's shape: tensors in index order, each tensor's bytes in increasing, contiguous
// offsets, every chunk carrying the tensor's full metadata and an XXH3-64 checksum of its data.
//
// Both sides touch each byte a bounded number of times and never hold the whole stream:
// SplitTensorSet hands out one chunk at a time, ChunkAssembler copies each chunk straight into
// its final tensor.
#ifndef REIN_COMMON_TENSOR_CHUNKING_H_
#define REIN_COMMON_TENSOR_CHUNKING_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/tensor/codec.h"
#include "rein/v1/tensor.pb.h"

namespace rein::tensor {

// A tensor with its name, e.g. {"model.layers.0.mlp.up_proj.weight", <bf16 tensor>}.
using NamedTensor = std::pair<std::string, at::Tensor>;

// A complete set of named tensors, e.g. one policy version's weights.
struct TensorSet {
  // Version of the policy these tensors belong to.
  uint64_t policy_version = 0;
  // In stream (index) order. Names are unique and non-empty.
  std::vector<NamedTensor> tensors;
};

struct SplitOptions {
  // Most data bytes per chunk. Default 4 MiB: large enough that the per-chunk cost (one
  // message, one checksum) is negligible, small enough to keep messages modest. A chunk's
  // metadata adds a few hundred bytes, so a receiver's gRPC max message size must exceed
  // chunk_bytes (gRPC's own default, exactly 4 MiB, does not).
  int64_t chunk_bytes = int64_t{4} << 20;
};

// Receives each chunk in stream order. The chunk is valid only during the call and is
// overwritten afterwards: a sink that keeps it must copy it. A non-OK return stops the split
// and is returned from SplitTensorSet unchanged.
using ChunkSink = absl::FunctionRef<absl::Status(const rein::v1::TensorChunk&)>;

// Emits `tensors` as chunks of at most options.chunk_bytes data bytes each, in stream order,
// every field of TensorChunk filled. A tensor of 0 bytes is sent as one chunk with empty data.
// Non-CPU or non-contiguous tensors are copied to contiguous host memory one tensor at a time,
// so the extra memory is bounded by the largest such tensor plus one chunk.
// INVALID_ARGUMENT, before any chunk is emitted, if the set is empty, has more than 2^32-1
// tensors, an empty or duplicated name, or a tensor EncodeTensor would refuse; or if
// chunk_bytes <= 0. Otherwise the first error from `sink` (or from copying a tensor to host).
// The caller keeps ownership of `tensors`; nothing is retained after return.
absl::Status SplitTensorSet(uint64_t policy_version, absl::Span<const NamedTensor> tensors,
                            const SplitOptions& options, ChunkSink sink);

struct AssemblerOptions {
  // Most bytes of tensor data in one set, checked when each tensor's first chunk arrives and
  // before it is allocated. Default 64 GiB: a model of up to ~32B parameters in bf16.
  int64_t max_total_bytes = int64_t{64} << 30;
  // Most data bytes in one chunk. Default 16 MiB, 4x the default sender chunk size.
  int64_t max_chunk_bytes = int64_t{16} << 20;
  // Most tensors in one set (the stream's tensor_count). Default 65536; a 70B model has ~700.
  int64_t max_tensors = int64_t{1} << 16;
  // Limits applied to each tensor's dtype and shape. Default: DecodeLimits's defaults.
  DecodeLimits decode_limits;
};

// Rebuilds one TensorSet from one stream of chunks, validating the stream as it goes. An
// assembler speaks for exactly one policy version: the one its first chunk carries.
//
// Contract: feed every chunk of one stream, in arrival order, to Add(); when the stream ends,
// call Finish(). The set is returned only when every byte of every tensor arrived exactly once
// with a matching checksum; nothing partial is ever returned. Errors name the tensor (index and
// name) and the chunk's offset, and fall in two classes:
//   DATA_LOSS: something sent did not arrive intact: a checksum mismatch (corrupt chunk); a
//     chunk past the expected offset (missing chunk); a tensor index past the expected one, or
//     the next tensor starting before the current one is complete (missing chunks or tensors);
//     Finish() with any tensor or byte not yet received (truncated stream, or no chunk at all).
//   INVALID_ARGUMENT: the stream contradicts itself or the limits: policy_version or
//     tensor_count changing mid-stream; tensor_index out of range or going backwards (duplicate
//     or reordered chunk of a finished tensor); a duplicated or empty tensor name; a chunk
//     before the expected offset (duplicated or overlapping); a chunk larger than
//     max_chunk_bytes, running past total_bytes, or empty for a non-empty tensor; dtype, shape,
//     name or total_bytes changing between chunks of one tensor; metadata that fails
//     DecodeLimits, total_bytes != numel x itemsize, tensor_count above max_tensors, or a set
//     above max_total_bytes.
//   RESOURCE_EXHAUSTED: a tensor could not be allocated.
// The first error poisons the assembler: it frees what it staged, and every later Add() or
// Finish() returns that same error. After a successful Finish() every call returns
// FAILED_PRECONDITION.
//
// Ownership: Add() copies what it needs; the chunk stays the caller's. Finish() moves the set
// to the caller; the tensors are CPU, contiguous and owned by nobody else.
// Memory: tensors are allocated as their first chunk arrives, so a stream that fails midway
// has held at most the tensors up to the failing one (bounded by max_total_bytes).
// Thread safety: not thread-safe. Use one assembler per stream, from one thread at a time.
class ChunkAssembler final {
 public:
  // INVALID_ARGUMENT unless every limit in `options` is positive.
  //
  // `recycled` (optional) is a set from an earlier transfer that nothing else uses any more;
  // a tensor of it whose position, name, dtype and shape match the incoming one becomes that
  // tensor's destination instead of a fresh allocation. Weight pushes repeat the same set, so a
  // replica that hands back its previous weights assembles with no allocation at all. A tensor
  // whose storage is shared with anything else is never written into.
  static absl::StatusOr<std::unique_ptr<ChunkAssembler>> Create(const AssemblerOptions& options,
                                                                TensorSet recycled = {});

  ChunkAssembler(const ChunkAssembler&) = delete;
  ChunkAssembler& operator=(const ChunkAssembler&) = delete;

  // Validates `chunk` against the stream so far and copies its data into place.
  absl::Status Add(const rein::v1::TensorChunk& chunk);

  // The assembled set, if the stream was complete; see the class comment for the errors.
  absl::StatusOr<TensorSet> Finish();

  // Data bytes accepted so far, for progress reporting.
  int64_t bytes_received() const { return bytes_received_; }

 private:
  ChunkAssembler(const AssemblerOptions& options, TensorSet recycled)
      : options_(options), recycled_(std::move(recycled.tensors)) {}
  // recycled_[index] if it can hold the tensor described by `name` and `spec`, else undefined.
  at::Tensor TakeRecycled(size_t index, const std::string& name, at::ScalarType type,
                          absl::Span<const int64_t> shape);

  absl::Status AddUnpoisoned(const rein::v1::TensorChunk& chunk);
  absl::Status CheckStream(const rein::v1::TensorChunk& chunk);
  absl::Status RouteToTensor(const rein::v1::TensorChunk& chunk);
  absl::Status BeginTensor(const rein::v1::TensorChunk& chunk);
  absl::Status CheckSameTensor(const rein::v1::TensorChunk& chunk) const;
  absl::Status AppendData(const rein::v1::TensorChunk& chunk);
  absl::Status FinishUnpoisoned();
  // Records `status` as the first error, frees everything staged, returns `status`.
  absl::Status Poison(absl::Status status);

  const AssemblerOptions options_;
  std::vector<NamedTensor> recycled_;
  // OK while healthy; otherwise the error every later call returns.
  absl::Status error_;

  // Stream header, fixed by the first chunk.
  bool started_ = false;
  uint64_t policy_version_ = 0;
  uint32_t tensor_count_ = 0;

  // Tensors begun so far, in index order. Invariant: all but the last are complete, and the
  // last is complete unless open_ is true.
  std::vector<NamedTensor> tensors_;
  absl::flat_hash_set<std::string> names_;
  int64_t staged_bytes_ = 0;  // Sum of the sizes of tensors_, checked against max_total_bytes.
  int64_t bytes_received_ = 0;

  // The tensor being filled (tensors_.back() while open_): its metadata, which every later
  // chunk of it must repeat, and the offset its next chunk must start at.
  bool open_ = false;
  rein::v1::DType open_dtype_ = rein::v1::DTYPE_UNSPECIFIED;
  std::vector<int64_t> open_shape_;
  uint64_t open_total_bytes_ = 0;
  uint64_t next_offset_ = 0;
};

}  // namespace rein::tensor

#endif  // REIN_COMMON_TENSOR_CHUNKING_H_
