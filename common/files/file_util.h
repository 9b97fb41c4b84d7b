// POSIX file helpers for crash-safe writes (checkpoints, run state): a file or folder is built under a temporary name,
// fsync'd, and renamed into place, so its final name never shows partial contents.
#ifndef REIN_COMMON_FILES_FILE_UTIL_H_
#define REIN_COMMON_FILES_FILE_UTIL_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rein::files {

// `what` '<path>': strerror, with the code ErrnoToStatus gives `err`.
absl::Status ErrnoError(int err, const std::string& what, const std::string& path);

// The whole contents of the file `path`; errors carry the errno-derived code (NOT_FOUND for a
// missing file) and name `path`.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes all `size` bytes, retrying short writes and EINTR.
absl::Status WriteAll(int fd, const void* data, size_t size, const std::string& path);

// The folder holding `path` ("." for a bare name).
std::string ParentDir(const std::string& path);

// fsync of a folder, so that renames and new entries in it survive a crash.
absl::Status FsyncDir(const std::string& dir);

// Creates `<path>.tmp-XXXXXX`, lets `write` fill it through its descriptor, fsyncs it and
// renames it to `path`, then fsyncs the parent folder. On any failure the temporary file is
// removed and `path` is untouched.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::function<absl::Status(int fd)>& write);

// Creates the empty folder `<dir>.tmp-XXXXXX` beside `dir` and returns its path.
absl::StatusOr<std::string> MakeTempSiblingDir(const std::string& dir);

// Moves the complete folder `tmp` to `dir`. An existing `dir` is replaced only when it is a
// checkpoint that holds the file `replace_marker` (IsCheckpointDir in confined_path.h); with an
// empty marker it never is (ALREADY_EXISTS), and a folder without the marker, or anything that
// is not a folder, is FAILED_PRECONDITION and left alone. A replaced folder is swapped with
// `tmp` in one atomic rename where the file system supports it, and its old contents are then
// deleted. On failure `dir` is left as it was and `tmp` remains for the caller to remove.
absl::Status MoveDirIntoPlace(const std::string& tmp, const std::string& dir,
                              absl::string_view replace_marker);

}  // namespace rein::files

#endif  // REIN_COMMON_FILES_FILE_UTIL_H_
