// Helpers shared by the fuzz targets of tests/fuzz (built only with REIN_FUZZ=ON).
//
// Loaders that take a path get the fuzzer's input through a scratch file: one private folder per
// fuzzer process, removed when the process exits normally (a crashing process leaves it in
// $TMPDIR, which scripts/fuzz.sh points into its own scratch folder).
//
// FUZZ_CHECK is for properties the code under test promises (a decoded tensor encodes back to
// the same bytes, a config renders and parses back equal): a violation aborts, so libFuzzer
// saves the input like any crash.
#ifndef REIN_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define REIN_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

#define FUZZ_CHECK(condition)                                                    \
  do {                                                                           \
    if (!(condition)) ::rein::fuzz::CheckFailed(#condition, __FILE__, __LINE__); \
  } while (false)

namespace rein::fuzz {

[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);

// The input as text (it may hold any bytes, NUL included).
inline absl::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// This process's scratch folder, created on first use.
const std::string& ScratchDir();

// Writes `contents` to ScratchDir()/`name`, replacing what was there, and returns the path.
std::string WriteScratchFile(const std::string& name, absl::string_view contents);

// The folder of tests/fuzz/data (the small fixed files some targets load, e.g. a tokenizer), as
// compiled in; REIN_FUZZ_DATA_DIR overrides it when the tree has moved.
std::string DataDir();

}  // namespace rein::fuzz

#endif  // REIN_TESTS_FUZZ_FUZZ_SUPPORT_H_
