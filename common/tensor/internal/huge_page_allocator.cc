#include "common/tensor/internal/huge_page_allocator.h"

#include <c10/util/Exception.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace rein::tensor::internal {
namespace {

constexpr size_t kHugePageBytes = size_t{2} << 20;

// What Unmap needs to release a mapping: its start and length, which differ from the data
// pointer and size handed out (see Map).
struct Mapping {
  void* base;
  size_t length;
};

void Unmap(void* context) {
  auto* mapping = static_cast<Mapping*>(context);
  munmap(mapping->base, mapping->length);
  delete mapping;
}

}  // namespace

c10::DataPtr HugePageAllocator::Map(size_t nbytes) {
  const c10::Device cpu(c10::DeviceType::CPU);
  if (nbytes == 0) return c10::DataPtr(nullptr, cpu);
  // One spare huge page of address space so that the data can start on a 2 MiB boundary,
  // where the kernel can back it with huge pages from the first byte. The unused head and
  // tail are never touched, so they cost address space only.
  const size_t rounded = (nbytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  const size_t length = rounded + kHugePageBytes;
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TORCH_CHECK(base != MAP_FAILED, "mmap of ", length, " bytes failed: ", std::strerror(errno));
  const auto address = reinterpret_cast<uintptr_t>(base);
  void* data = reinterpret_cast<void*>((address + kHugePageBytes - 1) & ~(kHugePageBytes - 1));
#ifdef MADV_HUGEPAGE
  // Advice only: without THP (or with it set to "never") the mapping still works.
  madvise(data, rounded, MADV_HUGEPAGE);
#endif
  auto* mapping = new (std::nothrow) Mapping{base, length};
  if (mapping == nullptr) {
    munmap(base, length);
    TORCH_CHECK(false, "out of memory for a mapping record");
  }
  return c10::DataPtr(data, mapping, &Unmap, cpu);
}

HugePageAllocator* GetHugePageAllocator() {
  static auto* const allocator = new HugePageAllocator();
  return allocator;
}

}  // namespace rein::tensor::internal
