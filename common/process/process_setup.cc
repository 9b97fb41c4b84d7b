#include "common/process/process_setup.h"

#include <malloc.h>

#include <cstdlib>
#include <iostream>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "common/log/log.h"

namespace rein {

void TuneAllocatorForLargeBuffers() {
  // Buffers up to 1 GiB come from the heap; the heap top is returned to the OS only when more
  // than 1 GiB is free there.
  constexpr int kThresholdBytes = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kThresholdBytes);
  mallopt(M_TRIM_THRESHOLD, kThresholdBytes);
}

void ReleaseFreedMemory() { malloc_trim(0); }

void ParseFlags(int argc, char** argv, absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  // By default --help lists only flags of a file named like the binary; Rein's flags live in
  // main.cc and the shared worker runtime.
  config.contains_help_flags = [](absl::string_view file) {
    return !absl::StrContains(file, "absl/");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  // absl::ParseCommandLine answers --help with exit status 1 (Abseil 20220623), which scripts
  // and image checks read as a broken binary. Parse without its usage handling, then answer the
  // usage flags here: asking for help succeeds.
  absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage,
      absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  const int usage_exit = absl::flags_internal::HandleUsageFlags(std::cout, usage);
  if (usage_exit != -1) {
    std::cout.flush();
    std::exit(0);
  }
}

void InitProcess(absl::string_view process_name) {
  log::SetProcessName(process_name);
  TuneAllocatorForLargeBuffers();
}

}  // namespace rein
