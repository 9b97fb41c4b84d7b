#include "common/process/process_setup.h"

#include <malloc.h>

#include "common/log/log.h"

namespace rein {

void TuneAllocatorForLargeBuffers() {
  // Buffers up to 1 GiB come from the heap; the heap top is returned to the OS only when more
  // than 1 GiB is free there.
  constexpr int kThresholdBytes = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kThresholdBytes);
}

void InitProcess(absl::string_view process_name) {
  log::SetProcessName(process_name);
  TuneAllocatorForLargeBuffers();
}

}  // namespace rein
