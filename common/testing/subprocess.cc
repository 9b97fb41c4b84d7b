#include "common/testing/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

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

// execv's argument vector over `argv` (which must outlive it), after checking that argv[0] is
// an executable.
absl::StatusOr<std::vector<char*>> ExecArgs(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("not executable: ", argv[0]));
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  return args;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv) {
  ASSIGN_OR_RETURN(std::vector<char*> args, ExecArgs(argv));
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

namespace {

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecWithStdio(int stdin_fd, int stdout_fd, int stderr_fd,
                                std::vector<char*>& argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::dup2(stdin_fd, STDIN_FILENO);
  ::dup2(stdout_fd, STDOUT_FILENO);
  ::dup2(stderr_fd, STDERR_FILENO);
  ::execv(argv[0], argv.data());
  _exit(127);
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::string_view stdin_text, absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::vector<char*> args, ExecArgs(argv));
  // stdin is a socket so that writes can use MSG_NOSIGNAL: a child that exits early must not
  // raise SIGPIPE in the test process.
  int stdin_fds[2], stdout_fds[2], stderr_fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_fds) != 0 ||
      ::pipe2(stdout_fds, O_CLOEXEC) != 0 || ::pipe2(stderr_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) ExecWithStdio(stdin_fds[1], stdout_fds[1], stderr_fds[1], args);
  ::close(stdin_fds[1]);
  ::close(stdout_fds[1]);
  ::close(stderr_fds[1]);
  int input_fd = stdin_fds[0];
  ::shutdown(input_fd, SHUT_RD);
  size_t written = 0;
  if (stdin_text.empty()) {
    ::close(input_fd);
    input_fd = -1;
  }
  CommandResult result;
  int output_fds[2] = {stdout_fds[0], stderr_fds[0]};
  std::string* outputs[2] = {&result.stdout_text, &result.stderr_text};
  const absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  while (input_fd >= 0 || output_fds[0] >= 0 || output_fds[1] >= 0) {
    pollfd fds[3] = {
        {input_fd, POLLOUT, 0}, {output_fds[0], POLLIN, 0}, {output_fds[1], POLLIN, 0}};
    int ready = ::poll(fds, 3, RemainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      timed_out = true;
      break;
    }
    if (input_fd >= 0 && fds[0].revents != 0) {
      ssize_t n = ::send(input_fd, stdin_text.data() + written, stdin_text.size() - written,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_text.size()) {
        ::close(input_fd);  // Done, or the child stopped reading: either way, end of input.
        input_fd = -1;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (output_fds[i] < 0 || fds[i + 1].revents == 0) continue;
      char buffer[4096];
      ssize_t n = ::read(output_fds[i], buffer, sizeof(buffer));
      if (n > 0) {
        outputs[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(output_fds[i]);
        output_fds[i] = -1;
      }
    }
  }
  for (int fd : {input_fd, output_fds[0], output_fds[1]}) {
    if (fd >= 0) ::close(fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(argv[0], " still running after ",
                                                    absl::FormatDuration(timeout)));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
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

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  return ok ? ntohs(addr.sin_port) : 0;
}

}  // namespace rein::testing
