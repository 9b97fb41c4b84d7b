#include "common/testing/data_paths.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace rein::testing {

std::string CacheDir() {
  if (const char* cache = std::getenv("REIN_CACHE"); cache != nullptr && *cache != '\0') {
    return cache;
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : "", "/.cache/rein");
}

absl::StatusOr<std::string> CachedTokenizerDir(absl::string_view name) {
  const std::string dir = absl::StrCat(CacheDir(), "/tokenizers/", name);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(absl::StrCat(dir, "/", file), error)) {
      return absl::NotFoundError(absl::StrCat(
          "tokenizer '", name, "' not found: ", dir, "/", file,
          " is missing. Run scripts/setup.sh to fetch it (REIN_CACHE moves the cache)."));
    }
  }
  return dir;
}

}  // namespace rein::testing
