#include "common/files/run_folder.h"

#include <cstdint>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rein::files {
namespace {

namespace fs = std::filesystem;

bool IsCheckpoint(const fs::path& dir) {
  std::error_code error;
  return fs::is_regular_file(dir / kRunCheckpointMarker, error);
}

}  // namespace

std::string NewestCheckpoint(const std::string& run_dir) {
  std::error_code error;
  int64_t newest = -1;
  std::string found;
  for (const auto& entry : fs::directory_iterator(fs::path(run_dir) / "checkpoints", error)) {
    const std::string name = entry.path().filename().string();
    int64_t iteration = 0;
    if (!absl::StartsWith(name, "iter-") ||
        !absl::SimpleAtoi(absl::string_view(name).substr(5), &iteration) ||
        !IsCheckpoint(entry.path())) {
      continue;
    }
    if (iteration > newest) {
      newest = iteration;
      found = entry.path().string();
    }
  }
  return found;
}

absl::StatusOr<std::string> ResolveResume(const std::string& path, const std::string& part) {
  if (path.empty()) return std::string();
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    return absl::NotFoundError(
        absl::StrCat("--resume: '", path, "' is not a checkpoint or run folder"));
  }
  const std::string checkpoint = IsCheckpoint(path) ? path : NewestCheckpoint(path);
  if (checkpoint.empty() || part.empty()) return checkpoint;
  return absl::StrCat(checkpoint, "/", part);
}

}  // namespace rein::files
