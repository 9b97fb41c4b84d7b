// rein-feedback's import of existing preference data (services/feedback/formats/
// import_formats.h) on a JSON Lines upload: it either imports or is INVALID_ARGUMENT naming the
// line; every imported pair has two different, non-empty responses.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "services/feedback/formats/import_formats.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<std::vector<rein::feedback::ImportedPair>> pairs =
      rein::feedback::ParsePreferenceJsonl(rein::fuzz::AsText(data, size));
  if (!pairs.ok()) {
    FUZZ_CHECK(pairs.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  for (const rein::feedback::ImportedPair& pair : *pairs) {
    FUZZ_CHECK(!pair.chosen.empty() && !pair.rejected.empty());
    FUZZ_CHECK(pair.chosen != pair.rejected);
  }
  return 0;
}
