// A child process of `reinctl up`: started with its stdout and stderr appended to a log file,
// in its own process group, and sent SIGTERM by the kernel if reinctl itself dies
// (PR_SET_PDEATHSIG), so a crashed or killed reinctl never leaves a cluster behind.
// Not thread safe: the launcher's one thread drives its children.
#ifndef REIN_SERVICES_REINCTL_CHILD_PROCESS_H_
#define REIN_SERVICES_REINCTL_CHILD_PROCESS_H_

#include <sys/types.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rein::reinctl {

class ChildProcess {
 public:
  // argv[0] is the executable's path. INTERNAL naming the program if it cannot be started.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::string& name,
                                                             const std::vector<std::string>& argv,
                                                             const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

  // The exit status once the child has ended (128 + signal if a signal ended it); nullopt while
  // it runs. Never blocks.
  std::optional<int> Poll();
  void Signal(int signal_number);
  // Waits up to `timeout` for the child to end; nullopt if it still runs.
  std::optional<int> Wait(absl::Duration timeout);

  // Reads what this child wrote to the log until a line containing `marker` appears and
  // returns what follows it (trimmed). The log is appended to across runs in one run folder (a
  // resumed run): lines from before the spawn are never read, so an earlier run's address is
  // never taken for this one's. DEADLINE_EXCEEDED after `timeout`; FAILED_PRECONDITION if the
  // child exits first.
  absl::StatusOr<std::string> WaitForLogLine(absl::string_view marker, absl::Duration timeout);

  // Whether a line this child wrote to the log contains `marker` (now; it does not wait).
  bool LogContains(absl::string_view marker) const;

  // The last `lines` lines this child wrote to the log, for error reports.
  std::string LogTail(int lines) const;

 private:
  ChildProcess(std::string name, pid_t pid, std::string log_path, std::streamoff log_start)
      : name_(std::move(name)), pid_(pid), log_path_(std::move(log_path)), log_start_(log_start) {}
  // The log from this child's first byte on.
  std::ifstream OpenOwnLog() const;

  std::string name_;
  pid_t pid_;
  std::string log_path_;
  std::streamoff log_start_;  // the log's size when the child was spawned
  std::optional<int> exit_code_;
};

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_CHILD_PROCESS_H_
