// Chunk streams for this component's chunking tests. Test-only; header-only.
#ifndef REIN_COMMON_TENSOR_INTERNAL_CHUNKING_TEST_HELPERS_H_
#define REIN_COMMON_TENSOR_INTERNAL_CHUNKING_TEST_HELPERS_H_

#include <ATen/ops/zeros.h>
#include <xxhash.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/tensor/chunking.h"
#include "common/tensor/internal/test_helpers.h"

namespace rein::tensor::testing {

using ::rein::v1::TensorChunk;

inline constexpr uint64_t kVersion = 42;
inline constexpr auto kDataLoss = absl::StatusCode::kDataLoss;
inline constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

// Six tensors whose byte sizes (1628, 14, 0, 8, 15, 96) no small chunk size divides evenly,
// one of them empty, one a 0-d scalar and one non-contiguous.
inline std::vector<NamedTensor> MakeSet() {
  return {{"embed", Sample(at::kFloat, {37, 11})},
          {"bias", Sample(at::kBFloat16, {7})},
          {"empty", at::zeros({0, 4}, at::kFloat)},
          {"step", Sample(at::kLong, {})},
          {"mask", Sample(at::kBool, {3, 5})},
          {"proj.T", Sample(at::kHalf, {8, 6}).t()}};
}

// The whole stream as copies (fine for small test sets; the sender itself never does this).
inline std::vector<TensorChunk> Split(const std::vector<NamedTensor>& set, int64_t chunk_bytes) {
  std::vector<TensorChunk> chunks;
  REIN_REQUIRE_OK(SplitTensorSet(kVersion, set, SplitOptions{chunk_bytes},
                                 [&](const TensorChunk& chunk) {
                                   chunks.push_back(chunk);
                                   return absl::OkStatus();
                                 }));
  return chunks;
}

// Feeds `chunks` to a fresh assembler and finishes it; the first error wins. Also checks
// that the assembler stays poisoned with that error.
inline absl::StatusOr<TensorSet> Assemble(const std::vector<TensorChunk>& chunks,
                                   const AssemblerOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<ChunkAssembler>> assembler = ChunkAssembler::Create(options);
  REIN_REQUIRE_OK(assembler);
  for (const TensorChunk& chunk : chunks) {
    if (absl::Status status = (*assembler)->Add(chunk); !status.ok()) {
      CHECK((*assembler)->Add(chunks.front()) == status);
      CHECK((*assembler)->Finish().status() == status);
      return status;
    }
  }
  return (*assembler)->Finish();
}

// Recomputes the checksum after a test edits a chunk's data, so that only the intended fault
// is present.
inline void Reseal(TensorChunk& chunk) {
  chunk.set_checksum(XXH3_64bits(chunk.data().data(), chunk.data().size()));
}

// Index of the first chunk of tensor `index` at `offset`.
inline size_t Find(const std::vector<TensorChunk>& chunks, uint32_t index, uint64_t offset) {
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (chunks[i].tensor_index() == index && chunks[i].offset() == offset) return i;
  }
  FAIL("no chunk of tensor " << index << " at offset " << offset);
  return 0;
}

}  // namespace rein::tensor::testing

#endif  // REIN_COMMON_TENSOR_INTERNAL_CHUNKING_TEST_HELPERS_H_
