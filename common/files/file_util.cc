#include "common/files/file_util.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28, _GNU_SOURCE).
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/files/confined_path.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace rein::files {
namespace {

// Closes a descriptor on scope exit unless released.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

absl::Status FsyncAndClose(int fd, const std::string& path) {
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError(err, "cannot fsync", path);
  }
  if (::close(fd) != 0) return ErrnoError(errno, "cannot close", path);
  return absl::OkStatus();
}

// Swaps two existing paths atomically. Fails with EINVAL on file systems without the exchange
// primitive, where the caller falls back to two renames.
int ExchangePaths(const std::string& a, const std::string& b) {
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE);
}

// Renames the folder `dir` to a fresh sibling name (an empty folder made by mkdtemp, which
// rename(2) may replace) and returns that name.
absl::StatusOr<std::string> MoveAside(const std::string& dir);

}  // namespace

absl::Status ErrnoError(int err, const std::string& what, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " '", path, "'"));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  FdCloser closer(fd);
  std::string contents;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) return contents;
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot read", path);
    }
    contents.append(buffer, static_cast<size_t>(n));
  }
}

absl::Status WriteAll(int fd, const void* data, size_t size, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot write", path);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::string ParentDir(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

absl::Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open folder", dir);
  return FsyncAndClose(fd, dir);
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::function<absl::Status(int fd)>& write) {
  std::string tmp = absl::StrCat(path, ".tmp-XXXXXX");
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot create a temporary file for", path);
  FdCloser closer(fd);
  absl::Status status = write(fd);
  if (status.ok()) status = FsyncAndClose(closer.Release(), tmp);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(errno, "cannot rename a temporary file to", path);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return FsyncDir(ParentDir(path));
}

absl::StatusOr<std::string> MakeTempSiblingDir(const std::string& dir) {
  std::string trimmed = dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  std::string tmp = absl::StrCat(trimmed, ".tmp-XXXXXX");
  if (::mkdtemp(tmp.data()) == nullptr) {
    return ErrnoError(errno, "cannot create a temporary folder for", dir);
  }
  return tmp;
}

namespace {

absl::StatusOr<std::string> MoveAside(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string aside, MakeTempSiblingDir(dir));
  if (::rename(dir.c_str(), aside.c_str()) != 0) {
    const int err = errno;
    ::rmdir(aside.c_str());
    return ErrnoError(err, "cannot move aside the old", dir);
  }
  return aside;
}

}  // namespace

absl::Status MoveDirIntoPlace(const std::string& tmp, const std::string& dir,
                              absl::string_view replace_marker) {
  struct stat st {};
  const bool exists = ::lstat(dir.c_str(), &st) == 0;
  if (!exists) {
    if (::rename(tmp.c_str(), dir.c_str()) != 0) return ErrnoError(errno, "cannot rename to", dir);
    return FsyncDir(ParentDir(dir));
  }
  if (replace_marker.empty()) {
    return absl::AlreadyExistsError(absl::StrCat("'", dir, "' exists and is not replaced"));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("'", dir, "' exists and is not a folder"));
  }
  if (!IsCheckpointDir(dir, replace_marker)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", dir, "' exists and is not a checkpoint (no ", replace_marker, "): never replaced"));
  }
  // After the swap `tmp` names the old folder.
  std::string old_contents = tmp;
  if (ExchangePaths(tmp, dir) != 0) {
    if (errno != EINVAL && errno != ENOSYS) return ErrnoError(errno, "cannot swap into", dir);
    ASSIGN_OR_RETURN(old_contents, MoveAside(dir));
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      const int err = errno;
      ::rename(old_contents.c_str(), dir.c_str());  // Best effort: put the old one back.
      return ErrnoError(err, "cannot rename to", dir);
    }
  }
  RETURN_IF_ERROR(FsyncDir(ParentDir(dir)));
  // The new checkpoint is in place; failing to delete the old one must not report failure.
  std::error_code ec;
  std::filesystem::remove_all(old_contents, ec);
  if (ec) {
    REIN_LOG(WARNING, "checkpoint")
        << "cannot remove the replaced checkpoint at '" << old_contents << "': " << ec.message();
  }
  return absl::OkStatus();
}

}  // namespace rein::files
