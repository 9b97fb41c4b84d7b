#include "common/tensor/internal/checksum.h"

#include <algorithm>
#include <cstring>

// The XXH3 state type is only complete with static linking declarations; it lives on the stack
// here instead of behind XXH3_createState()'s malloc.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#if defined(__x86_64__)
// Routes XXH3_64bits_update to libxxhash's run-time dispatch, which uses the widest SIMD the
// CPU has (AVX2, AVX-512); the plain entry point is built for baseline SSE2 and measured about
// 2x slower here. Same hash values either way.
#include <xxh_x86dispatch.h>
#endif

namespace rein::tensor::internal {
namespace {

// Small enough to stay in L2 between the copy and the hash, large enough that the per-block
// cost of a streaming update is noise.
constexpr size_t kBlockBytes = size_t{64} << 10;

// Calls copy(offset, length) for each block of [0, n), hashing each block of `src` right after.
template <typename CopyBlock>
uint64_t ForEachBlock(const char* src, size_t n, CopyBlock copy) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  for (size_t offset = 0; offset < n; offset += kBlockBytes) {
    const size_t length = std::min(kBlockBytes, n - offset);
    copy(offset, length);
    XXH3_64bits_update(&state, src + offset, length);
  }
  return XXH3_64bits_digest(&state);
}

}  // namespace

uint64_t AssignAndChecksum(const char* src, size_t n, std::string* out) {
  out->clear();  // Keeps the capacity; append() below neither reallocates nor zero-fills then.
  out->reserve(n);
  return ForEachBlock(src, n, [&](size_t offset, size_t length) {
    out->append(src + offset, length);
  });
}

uint64_t CopyAndChecksum(const char* src, size_t n, char* dst) {
  return ForEachBlock(src, n, [&](size_t offset, size_t length) {
    std::memcpy(dst + offset, src + offset, length);
  });
}

}  // namespace rein::tensor::internal
