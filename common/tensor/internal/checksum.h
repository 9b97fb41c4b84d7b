// The chunk checksum (XXH3-64, seed 0; see TensorChunk.checksum), fused with the copy that each
// side of a transfer makes anyway. Not part of the component's API.
//
// Why fused: hashing a 4 MiB chunk after copying it reads the chunk from memory twice. Going
// block by block, each block is hashed right after it is copied, while it is still in cache,
// so memory sees one read and one write per byte. The result equals XXH3_64bits of the bytes.
#ifndef REIN_COMMON_TENSOR_INTERNAL_CHECKSUM_H_
#define REIN_COMMON_TENSOR_INTERNAL_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace rein::tensor::internal {

// Replaces `*out` with the `n` bytes at `src` (reusing its capacity, without zero-filling it)
// and returns their checksum.
uint64_t AssignAndChecksum(const char* src, size_t n, std::string* out);

// Copies the `n` bytes at `src` to `dst` (which must not overlap) and returns their checksum.
uint64_t CopyAndChecksum(const char* src, size_t n, char* dst);

}  // namespace rein::tensor::internal

#endif  // REIN_COMMON_TENSOR_INTERNAL_CHECKSUM_H_
