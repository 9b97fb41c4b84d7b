// Turns SIGINT/SIGTERM into an orderly shutdown for a service's main():
//
//   int main(int argc, char** argv) {
//     auto shutdown = rpc::ShutdownSignal::Install();   // before any thread starts
//     ... build the server ...
//     shutdown->Wait();
//     server->Shutdown();                                 // drains calls in flight
//   }
//
// The first signal (or RequestShutdown()) releases Wait(); a second signal means the user is
// done waiting, and the process exits at once with 128 + signal.
//
// Install() sets process-wide handlers that only write the signal number into a pipe, so it
// works whichever thread the kernel picks (LibTorch starts threads before main, so blocking
// the signals in main's thread would not cover them); a watcher thread reads the pipe.
// Contract: at most one instance per process; the handlers stay installed after it is gone.
// Thread safety: all methods are thread safe.
#ifndef REIN_COMMON_RPC_SHUTDOWN_SIGNAL_H_
#define REIN_COMMON_RPC_SHUTDOWN_SIGNAL_H_

#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace rein::rpc {

class ShutdownSignal {
 public:
  static std::unique_ptr<ShutdownSignal> Install();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Blocks until a shutdown signal arrives or RequestShutdown() is called. Returns the signal
  // number, or 0 for RequestShutdown().
  int Wait();

  // Releases Wait() as if a signal had arrived (e.g. the job finished on its own).
  void RequestShutdown();

  bool requested() const { return requested_.HasBeenNotified(); }

 private:
  explicit ShutdownSignal(int read_fd);
  void WaitForSignals();

  const int read_fd_;
  absl::Notification requested_;
  absl::Mutex mu_;
  int signal_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread waiter_;
};

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_SHUTDOWN_SIGNAL_H_
