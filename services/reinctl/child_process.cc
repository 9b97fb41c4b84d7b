#include "services/reinctl/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace rein::reinctl {
namespace {

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::string& name, const std::vector<std::string>& argv, const std::string& log_path) {
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open log '", log_path, "': ", strerror(errno)));
  }
  const off_t log_start = lseek(log_fd, 0, SEEK_END);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork for ", name, ": ", strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // The parent died before prctl took effect.
    setpgid(0, 0);  // Ctrl-C in the terminal reaches reinctl only; it stops children in order.
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    execv(args[0], args.data());
    const char message[] = "reinctl: exec failed\n";
    (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(127);
  }
  close(log_fd);
  const std::streamoff start = log_start < 0 ? 0 : static_cast<std::streamoff>(log_start);
  return std::unique_ptr<ChildProcess>(new ChildProcess(name, pid, log_path, start));
}

ChildProcess::~ChildProcess() {
  if (Poll().has_value()) return;
  Signal(SIGKILL);
  Wait(absl::Seconds(5));
}

std::optional<int> ChildProcess::Poll() {
  if (exit_code_) return exit_code_;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) exit_code_ = ExitCodeOf(status);
  return exit_code_;
}

void ChildProcess::Signal(int signal_number) {
  if (!Poll()) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Poll() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  return exit_code_;
}

absl::StatusOr<std::string> ChildProcess::WaitForLogLine(absl::string_view marker,
                                                         absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::ifstream log = OpenOwnLog();
    std::string line;
    while (std::getline(log, line)) {
      size_t at = line.find(std::string(marker));
      if (at != std::string::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(at + marker.size())));
      }
    }
    if (std::optional<int> code = Poll()) {
      return absl::FailedPreconditionError(absl::StrCat(name_, " exited with status ", *code,
                                                        " before it was ready"));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(name_, " did not report '", marker,
                                                      "' within ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

bool ChildProcess::LogContains(absl::string_view marker) const {
  std::ifstream log = OpenOwnLog();
  std::string line;
  while (std::getline(log, line)) {
    if (line.find(std::string(marker)) != std::string::npos) return true;
  }
  return false;
}

std::ifstream ChildProcess::OpenOwnLog() const {
  std::ifstream log(log_path_);
  log.seekg(log_start_);
  return log;
}

std::string ChildProcess::LogTail(int lines) const {
  std::ifstream log = OpenOwnLog();
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(log, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  return absl::StrJoin(tail, "\n");
}

}  // namespace rein::reinctl
