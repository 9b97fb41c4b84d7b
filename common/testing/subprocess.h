// Runs a child process for cross-process tests: captures its stdout line by line, signals it,
// and waits for its exit with a timeout. The child is killed if the test process dies or the
// Subprocess is destroyed while it still runs, so no test leaves processes behind.
// Not thread safe: one test thread drives one Subprocess.
#ifndef REIN_COMMON_TESTING_SUBPROCESS_H_
#define REIN_COMMON_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rein::testing {

class Subprocess {
 public:
  // argv[0] is the executable's path. stdout is captured; stderr goes to the test's stderr.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv);

  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // Reads stdout until a line containing `marker` arrives and returns the text after the
  // marker (trimmed). DEADLINE_EXCEEDED after `timeout`; NOT_FOUND if stdout closes first.
  absl::StatusOr<std::string> WaitForLine(absl::string_view marker, absl::Duration timeout);

  // Everything read from stdout so far.
  const std::string& output() const { return output_; }

  absl::Status Signal(int signal_number);

  // Waits for the child to exit. Returns its exit code, or 128 + signal if a signal ended it.
  // DEADLINE_EXCEEDED if it is still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

 private:
  Subprocess(pid_t pid, int stdout_fd, int pid_fd);
  // Reads what is available on stdout into output_; false at end of file.
  bool ReadSome();

  pid_t pid_;
  int stdout_fd_;
  int pid_fd_;
  bool exited_ = false;
  int exit_code_ = -1;
  std::string output_;
  size_t scanned_ = 0;  // output_[0, scanned_) holds lines WaitForLine already looked at.
};

// What RunCommand saw of a finished child.
struct CommandResult {
  int exit_code = -1;  // The child's exit code, or 128 + signal if a signal ended it.
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv (argv[0] is the executable's path) to completion with `stdin_text` fed to its stdin
// (which is then closed), capturing stdout and stderr. A child that exits without reading all
// of its input is not an error. DEADLINE_EXCEEDED, after killing the child, if it is still
// running after `timeout`.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::string_view stdin_text, absl::Duration timeout);

// Path of a binary built into <build>/bin (REIN_BINARY_DIR overrides the configured build dir).
std::string BuiltBinary(absl::string_view name);

// Path under the source tree (REIN_SOURCE_DIR overrides the configured source dir).
std::string SourcePath(absl::string_view relative);

// A TCP port free right now on 127.0.0.1 (bound to 0, read back, closed): for a server that
// cannot report a port it picked itself, or must come back on the same port after a restart.
int FreePort();

// A fresh empty directory under the system temp dir, removed by the caller if it wishes.
std::string MakeTempDir(absl::string_view prefix);

}  // namespace rein::testing

#endif  // REIN_COMMON_TESTING_SUBPROCESS_H_
