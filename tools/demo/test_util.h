// Test helpers for rein-demo's tests.
#ifndef REIN_TOOLS_DEMO_TEST_UTIL_H_
#define REIN_TOOLS_DEMO_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace rein::demo::testing {

// A fresh empty directory under the system temp dir (left for the caller to inspect).
inline std::string MakeTempDir(const std::string& prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  const char* dir = mkdtemp(pattern.data());
  return dir == nullptr ? std::string() : std::string(dir);
}

}  // namespace rein::demo::testing

#endif  // REIN_TOOLS_DEMO_TEST_UTIL_H_
