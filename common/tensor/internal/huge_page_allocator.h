// CPU memory for large decoded tensors, backed by transparent huge pages where the kernel
// allows it. Not part of the component's API.
//
// Why: a decoded or assembled tensor always lands in fresh memory, and for large tensors glibc
// (like LibTorch's CPU allocator above it) maps fresh 4 KiB pages on every allocation. The
// first-touch page faults then cost more than the copy itself: in the benchmark VM, decoding a
// 256 MiB tensor into such memory ran at 0.02x memcpy. A mapping advised MADV_HUGEPAGE faults
// in 2 MiB at a time, 512x fewer faults. Where THP is disabled the advice is ignored and the
// memory behaves like any other anonymous mapping.
#ifndef REIN_COMMON_TENSOR_INTERNAL_HUGE_PAGE_ALLOCATOR_H_
#define REIN_COMMON_TENSOR_INTERNAL_HUGE_PAGE_ALLOCATOR_H_

#include <c10/core/Allocator.h>
#include <torch/version.h>

#include <cstddef>
#include <cstdint>

namespace rein::tensor::internal {

// Tensors of at least this many bytes are allocated by HugePageAllocator; smaller ones by
// LibTorch's default allocator. 32 MiB is glibc's largest dynamic mmap threshold
// (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit): above it glibc maps fresh 4 KiB pages for every
// allocation, so huge pages are a strict improvement; below it glibc recycles warm heap memory
// for repeated allocations of similar size, which beats any fresh mapping (measured: 16 MiB
// decode at 1.3x memcpy from recycled heap memory, 0.33x from fresh huge pages).
inline constexpr int64_t kHugePageMinBytes = int64_t{32} << 20;

// A c10::Allocator that gives each allocation its own anonymous mapping, 2 MiB-aligned and
// advised MADV_HUGEPAGE, unmapped when the last tensor using it is freed. Failure to map
// throws c10::Error, as LibTorch's allocators do.
// Stateless and thread-safe; the tensors it backs are ordinary CPU tensors.
class HugePageAllocator final : public c10::Allocator {
 public:
  // LibTorch 2 made allocate() non-const and copy_data() pure virtual; both lines call Map().
#if TORCH_VERSION_MAJOR >= 2
  c10::DataPtr allocate(size_t nbytes) override { return Map(nbytes); }
  void copy_data(void* dest, const void* src, size_t count) const override {
    default_copy_data(dest, src, count);
  }
#else
  c10::DataPtr allocate(size_t nbytes) const override { return Map(nbytes); }
#endif

 private:
  static c10::DataPtr Map(size_t nbytes);
};

// The process's one instance: LibTorch storages keep a pointer to their allocator, so it must
// outlive every tensor. Never destroyed.
HugePageAllocator* GetHugePageAllocator();

}  // namespace rein::tensor::internal

#endif  // REIN_COMMON_TENSOR_INTERNAL_HUGE_PAGE_ALLOCATOR_H_
