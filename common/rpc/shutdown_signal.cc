#include "common/rpc/shutdown_signal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "common/log/log.h"

namespace rein::rpc {
namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

std::unique_ptr<ShutdownSignal> ShutdownSignal::Install() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::unique_ptr<ShutdownSignal>(new ShutdownSignal());
}

ShutdownSignal::ShutdownSignal() : waiter_([this] { WaitForSignals(); }) {}

ShutdownSignal::~ShutdownSignal() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // Wake the waiter with a signal only it can receive (blocked everywhere, sigwait-ed there).
  pthread_kill(waiter_.native_handle(), SIGTERM);
  waiter_.join();
}

void ShutdownSignal::WaitForSignals() {
  sigset_t set = ShutdownSignals();
  while (true) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
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
