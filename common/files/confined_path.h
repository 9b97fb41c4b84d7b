// Paths that arrive in requests (a checkpoint folder to write, a model folder to load) are
// confined to a few folders the service was started with ("roots"), so that a client cannot
// make a service read or clobber anything else on its host.
//
// A path is resolved the way it will be used: relative paths are taken against the first root
// (a client's working folder means nothing to the server), the result is normalised lexically
// ("." and ".." folded), and the symbolic links of its longest existing prefix are resolved
// (realpath). The resolved path must be a root or lie under one, compared component by
// component on resolved roots. Callers then use the resolved path, never the one given, so a
// link cannot be swapped between the check and a later lookup of the same name. (A link
// created inside a root after the check, by someone who can write there, is out of scope: the
// roots belong to the run.)
//
// Errors name the request field and quote at most a short, escaped prefix of the path:
//   INVALID_ARGUMENT   empty, a NUL byte, over kMaxPathBytes, a dangling or looping link, a
//                      special file (device, FIFO, socket) at the path, a file where a folder
//                      is needed
//   PERMISSION_DENIED  outside every root (".." escapes, absolute paths elsewhere, links that
//                      point out)
//   FAILED_PRECONDITION (ResolveReplaceableDir) an existing folder that is not a Rein
//                      checkpoint, or a root itself
//
// Thread safety: stateless; the file system may change under it (see above).
#ifndef REIN_COMMON_FILES_CONFINED_PATH_H_
#define REIN_COMMON_FILES_CONFINED_PATH_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rein::files {

// Longest path accepted from a request (Linux's PATH_MAX).
inline constexpr size_t kMaxPathBytes = 4096;

// `path` quoted for an error message: at most 64 bytes of it, non-printable bytes escaped,
// "..." when cut.
std::string QuotePath(absl::string_view path);

// `path` (request field `field`) resolved as above and confined to `roots`. An empty `roots`
// refuses everything (PERMISSION_DENIED). The path need not exist.
absl::StatusOr<std::string> ResolveConfined(absl::string_view field, absl::string_view path,
                                            const std::vector<std::string>& roots);

// A folder a request may read: ResolveConfined, and then an existing folder (NOT_FOUND when
// missing, INVALID_ARGUMENT when something else).
absl::StatusOr<std::string> ResolveReadableDir(absl::string_view field, absl::string_view path,
                                               const std::vector<std::string>& roots);

// A folder a request may write whole (built beside it and renamed into place): ResolveConfined,
// not a root itself, and when it exists a Rein checkpoint folder holding `marker` (see
// IsCheckpointDir) that may be replaced. Missing parents are the caller's to create.
absl::StatusOr<std::string> ResolveReplaceableDir(absl::string_view field, absl::string_view path,
                                                  const std::vector<std::string>& roots,
                                                  absl::string_view marker);

// Whether `dir` is a folder that holds the file `marker` (a regular file, not a link): the file
// a Rein checkpoint writes last (coordinator.json for a run checkpoint, manifest.json for a
// learner's, config.json for a Hugging Face folder), so its presence means "a checkpoint,
// complete, that may be replaced by a newer one".
bool IsCheckpointDir(const std::string& dir, absl::string_view marker);

}  // namespace rein::files

#endif  // REIN_COMMON_FILES_CONFINED_PATH_H_
