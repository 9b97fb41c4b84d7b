#include "common/rpc/caller_waits.h"

#include <chrono>

namespace rein::rpc {

absl::Status CallerWaits(const grpc::ServerContext& context) {
  if (context.deadline() <= std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("the caller's deadline passed; the work was stopped");
  }
  if (context.IsCancelled()) {
    return absl::CancelledError("the caller cancelled the call; the work was stopped");
  }
  return absl::OkStatus();
}

std::function<absl::Status()> CallerWaitsCheck(const grpc::ServerContext* context) {
  if (context == nullptr) return [] { return absl::OkStatus(); };
  return [context] { return CallerWaits(*context); };
}

}  // namespace rein::rpc
