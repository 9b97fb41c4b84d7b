#include "common/rpc/shutdown_signal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "common/log/log.h"

namespace rein::rpc {
namespace {

// The pipe the handler writes to; written only by the handler, read by the watcher thread.
int signal_pipe_write = -1;

// Marks a wake-up from the destructor rather than a signal.
constexpr unsigned char kStopWatcher = 0;

extern "C" void OnShutdownSignal(int signal_number) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  (void)!write(signal_pipe_write, &byte, 1);  // async-signal-safe
  errno = saved_errno;
}

}  // namespace

std::unique_ptr<ShutdownSignal> ShutdownSignal::Install() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    REIN_LOG(ERROR, "shutdown") << "pipe2 failed; signals keep their default action";
    fds[0] = fds[1] = -1;
  }
  signal_pipe_write = fds[1];
  if (fds[1] >= 0) {
    struct sigaction action = {};
    action.sa_handler = OnShutdownSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  }
  return std::unique_ptr<ShutdownSignal>(new ShutdownSignal(fds[0]));
}

ShutdownSignal::ShutdownSignal(int read_fd)
    : read_fd_(read_fd), waiter_([this] { WaitForSignals(); }) {}

ShutdownSignal::~ShutdownSignal() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (signal_pipe_write >= 0) {
    (void)!write(signal_pipe_write, &kStopWatcher, 1);
  }
  waiter_.join();
}

void ShutdownSignal::WaitForSignals() {
  if (read_fd_ < 0) return;
  while (true) {
    unsigned char byte = 0;
    const ssize_t n = read(read_fd_, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (byte == kStopWatcher) continue;
    const int signal_number = byte;
    if (requested_.HasBeenNotified()) {
      REIN_LOG(WARNING, "shutdown") << "second signal " << signal_number << ": exiting now";
      _exit(128 + signal_number);
    }
    REIN_LOG(INFO, "shutdown") << "signal " << signal_number
                               << " received: shutting down (again to exit at once)";
    signal_ = signal_number;
    requested_.Notify();
  }
}

int ShutdownSignal::Wait() {
  requested_.WaitForNotification();
  absl::MutexLock lock(&mu_);
  return signal_;
}

void ShutdownSignal::RequestShutdown() {
  absl::MutexLock lock(&mu_);
  if (!requested_.HasBeenNotified()) requested_.Notify();
}

}  // namespace rein::rpc
