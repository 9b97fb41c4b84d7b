#include "common/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace rein::testing {
namespace {

int RemainingMs(absl::Time deadline) {
  int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(int stdout_write_fd, std::vector<char*>& argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::dup2(stdout_write_fd, STDOUT_FILENO);
  ::execv(argv[0], argv.data());
  _exit(127);
}

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("not executable: ", argv[0]));
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) ExecChild(pipe_fds[1], args);
  ::close(pipe_fds[1]);
  int pid_fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pid_fd < 0) return absl::InternalError(absl::StrCat("pidfd_open: ", std::strerror(errno)));
  return std::unique_ptr<Subprocess>(new Subprocess(pid, pipe_fds[0], pid_fd));
}

Subprocess::Subprocess(pid_t pid, int stdout_fd, int pid_fd)
    : pid_(pid), stdout_fd_(stdout_fd), pid_fd_(pid_fd) {}

Subprocess::~Subprocess() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ::close(stdout_fd_);
  ::close(pid_fd_);
}

bool Subprocess::ReadSome() {
  char buffer[4096];
  ssize_t n = ::read(stdout_fd_, buffer, sizeof(buffer));
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  output_.append(buffer, static_cast<size_t>(n));
  return true;
}

absl::StatusOr<std::string> Subprocess::WaitForLine(absl::string_view marker,
                                                    absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t newline;
    while ((newline = output_.find('\n', scanned_)) != std::string::npos) {
      absl::string_view line(output_.data() + scanned_, newline - scanned_);
      scanned_ = newline + 1;
      size_t at = line.find(marker);
      if (at != absl::string_view::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(at + marker.size())));
      }
    }
    pollfd fd{stdout_fd_, POLLIN, 0};
    int ready = ::poll(&fd, 1, RemainingMs(deadline));
    if (ready == 0) {
      return absl::DeadlineExceededError(absl::StrCat("no line with '", marker, "' after ",
                                                      absl::FormatDuration(timeout)));
    }
    if (ready > 0 && !ReadSome()) {
      return absl::NotFoundError(absl::StrCat("stdout closed before a line with '", marker,
                                              "'; output: ", output_));
    }
  }
}

absl::Status Subprocess::Signal(int signal_number) {
  if (exited_ || ::kill(pid_, signal_number) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot signal pid ", pid_));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (exited_) return exit_code_;
  pollfd fd{pid_fd_, POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) {
    return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running after ",
                                                    absl::FormatDuration(timeout)));
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exited_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (ReadSome()) {
  }
  return exit_code_;
}

std::string BuiltBinary(absl::string_view name) {
  return absl::StrCat(EnvOr("REIN_BINARY_DIR", REIN_DEFAULT_BINARY_DIR), "/bin/", name);
}

std::string SourcePath(absl::string_view relative) {
  return absl::StrCat(EnvOr("REIN_SOURCE_DIR", REIN_DEFAULT_SOURCE_DIR), "/", relative);
}

std::string MakeTempDir(absl::string_view prefix) {
  std::string pattern = absl::StrCat(EnvOr("TMPDIR", "/tmp"), "/", prefix, "XXXXXX");
  char* made = ::mkdtemp(pattern.data());
  return made != nullptr ? std::string(made) : std::string();
}

}  // namespace rein::testing
