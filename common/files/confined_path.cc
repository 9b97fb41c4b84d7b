#include "common/files/confined_path.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::files {
namespace {

namespace fs = std::filesystem;

constexpr size_t kQuotedBytes = 64;

std::optional<std::string> RealPath(const fs::path& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return std::nullopt;
  std::string out(real);
  ::free(real);
  return out;
}

// Absolute and lexically normal, without a trailing separator.
fs::path Normal(const fs::path& path, const fs::path& base) {
  fs::path out = (path.is_absolute() ? path : base / path).lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
  return out;
}

// `path` (absolute, normal) with the links of its longest existing prefix resolved. The parts
// after that prefix must not exist at all: a name that lstat finds but realpath cannot follow
// is a dangling or looping link, and what it would create is not known.
absl::StatusOr<std::string> ResolvePrefix(const fs::path& path, absl::string_view field,
                                          absl::string_view given) {
  fs::path prefix = path;
  std::vector<fs::path> missing;  // innermost last
  std::optional<std::string> real = RealPath(prefix);
  while (!real.has_value() && prefix.has_relative_path()) {
    missing.push_back(prefix.filename());
    prefix = prefix.parent_path();
    real = RealPath(prefix);
  }
  if (!real.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuotePath(given), " cannot be resolved"));
  }
  fs::path out(*real);
  if (!missing.empty()) {
    struct stat st {};
    if (::stat(out.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", QuotePath(given), " goes through a file that is not a folder"));
    }
    const fs::path first = out / missing.back();
    if (::lstat(first.c_str(), &st) == 0 || errno != ENOENT) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", QuotePath(given),
                       " goes through a symbolic link that points nowhere (or loops), or a "
                       "folder that cannot be read"));
    }
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) out /= *it;
  return out.string();
}

bool IsUnder(const std::string& path, const std::string& root) {
  if (path == root || root == "/") return true;
  return absl::StartsWith(path, root) && path.size() > root.size() && path[root.size()] == '/';
}

// The roots resolved as request paths are (those that cannot be are left out).
std::vector<std::string> ResolvedRoots(const std::vector<std::string>& roots) {
  std::vector<std::string> out;
  std::error_code error;
  const fs::path cwd = fs::current_path(error);
  for (const std::string& root : roots) {
    if (root.empty()) continue;
    absl::StatusOr<std::string> resolved = ResolvePrefix(Normal(root, cwd), "root", root);
    if (resolved.ok()) out.push_back(*std::move(resolved));
  }
  return out;
}

absl::Status CheckSyntax(absl::string_view field, absl::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty"));
  if (path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuotePath(path), " holds a NUL byte"));
  }
  if (path.size() > kMaxPathBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", QuotePath(path), " is ",
                                                   path.size(), " bytes long, over the limit of ",
                                                   kMaxPathBytes));
  }
  return absl::OkStatus();
}

bool IsSpecial(mode_t mode) {
  return S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode) || S_ISSOCK(mode);
}

}  // namespace

std::string QuotePath(absl::string_view path) {
  const bool cut = path.size() > kQuotedBytes;
  return absl::StrCat("'", absl::CHexEscape(path.substr(0, kQuotedBytes)), cut ? "...'" : "'");
}

absl::StatusOr<std::string> ResolveConfined(absl::string_view field, absl::string_view path,
                                            const std::vector<std::string>& roots) {
  RETURN_IF_ERROR(CheckSyntax(field, path));
  const std::vector<std::string> resolved_roots = ResolvedRoots(roots);
  if (resolved_roots.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(field, ": ", QuotePath(path),
                                                    " refused: this service has no folder it may "
                                                    "use for requests"));
  }
  ASSIGN_OR_RETURN(
      const std::string resolved,
      ResolvePrefix(Normal(fs::path(std::string(path)), resolved_roots.front()), field, path));
  bool inside = false;
  for (const std::string& root : resolved_roots) inside = inside || IsUnder(resolved, root);
  if (!inside) {
    return absl::PermissionDeniedError(absl::StrCat(
        field, ": ", QuotePath(path), " is outside the folders this service may use (",
        QuotePath(resolved_roots.front()), resolved_roots.size() > 1 ? " and others)" : ")"));
  }
  struct stat st {};
  if (::lstat(resolved.c_str(), &st) == 0 && IsSpecial(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuotePath(path), " is a special file (device, FIFO or socket)"));
  }
  return resolved;
}

absl::StatusOr<std::string> ResolveReadableDir(absl::string_view field, absl::string_view path,
                                               const std::vector<std::string>& roots) {
  ASSIGN_OR_RETURN(std::string resolved, ResolveConfined(field, path, roots));
  struct stat st {};
  if (::lstat(resolved.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(field, ": ", QuotePath(path), " does not exist"));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", QuotePath(path), " is not a folder"));
  }
  return resolved;
}

absl::StatusOr<std::string> ResolveReplaceableDir(absl::string_view field, absl::string_view path,
                                                  const std::vector<std::string>& roots,
                                                  absl::string_view marker) {
  ASSIGN_OR_RETURN(std::string resolved, ResolveConfined(field, path, roots));
  for (const std::string& root : ResolvedRoots(roots)) {
    if (IsUnder(root, resolved)) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ": ", QuotePath(path),
                       " is (or holds) a folder this service works in; name a folder under it"));
    }
  }
  struct stat st {};
  if (::lstat(resolved.c_str(), &st) != 0) return resolved;
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": ", QuotePath(path), " exists and is not a folder"));
  }
  if (!IsCheckpointDir(resolved, marker)) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": ", QuotePath(path), " exists and is not a Rein checkpoint (no ",
                     marker, "): it is never replaced; name a new folder"));
  }
  return resolved;
}

bool IsCheckpointDir(const std::string& dir, absl::string_view marker) {
  if (marker.empty()) return false;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  const std::string file = absl::StrCat(dir, "/", marker);
  return ::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace rein::files
