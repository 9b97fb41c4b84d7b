#include "tests/fuzz/fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace rein::fuzz {
namespace {

// Removes the scratch folder at normal exit (libFuzzer exits normally after -max_total_time).
struct ScratchFolder {
  std::string path;
  ScratchFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "rein-fuzz-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("fuzz: mkdtemp");
      std::abort();
    }
    path = pattern;
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace

void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", file, line, condition);
  std::abort();
}

const std::string& ScratchDir() {
  static const ScratchFolder folder;
  return folder.path;
}

std::string WriteScratchFile(const std::string& name, absl::string_view contents) {
  std::string path = ScratchDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

std::string DataDir() {
  if (const char* dir = std::getenv("REIN_FUZZ_DATA_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return REIN_FUZZ_DEFAULT_DATA_DIR;
}

}  // namespace rein::fuzz
