// Process-wide setup shared by every Rein binary's main(), before any thread starts.
#ifndef REIN_COMMON_PROCESS_PROCESS_SETUP_H_
#define REIN_COMMON_PROCESS_PROCESS_SETUP_H_

#include "absl/strings/string_view.h"

namespace rein {

// Parses the command line with absl flags. `--help` lists every flag the binary defines (Rein's
// own files, not Abseil's internals) under `usage`, one line saying what the binary does and
// how it is called, and exits with status 0 (as do --helpfull, --version and the other usage
// flags). An unknown flag or a bad value prints why and exits with status 1.
void ParseFlags(int argc, char** argv, absl::string_view usage);

// Names the process in log lines and tunes the allocator for Rein's traffic (see
// TuneAllocatorForLargeBuffers).
void InitProcess(absl::string_view process_name);

// Rein moves weights and batches in buffers of megabytes that are freed and allocated again on
// every transfer. glibc serves such sizes with fresh mmap()s and returns them on free(), so
// every transfer pays a page fault per 4 KiB touched, which on virtual machines costs more
// than the copy itself. Raising the mmap and trim thresholds keeps large buffers in the heap
// for reuse. The cost: freed memory is kept by the process rather than returned to the OS.
void TuneAllocatorForLargeBuffers();

// Returns the free memory of every malloc arena to the OS (malloc_trim). For the moments a
// process frees a large set it will not allocate again soon, such as a received weight set
// once copied into the model: TuneAllocatorForLargeBuffers would otherwise keep it resident
// as a second copy of the weights. Takes milliseconds; thread safe.
void ReleaseFreedMemory();

}  // namespace rein

#endif  // REIN_COMMON_PROCESS_PROCESS_SETUP_H_
