#include "services/coordinator/worker_clients.h"

#include "common/rpc/client.h"
#include "common/status/status_macros.h"

namespace rein::coordinator {

absl::StatusOr<std::shared_ptr<grpc::Channel>> WorkerClients::Channel(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(address);
  if (it != channels_.end()) return it->second;
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, rpc::CreateChannel(address, options_));
  channels_.emplace(address, channel);
  return channel;
}

}  // namespace rein::coordinator
