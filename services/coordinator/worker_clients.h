// Channels to the run's workers, one per address, created on first use and shared by every
// stage. Thread safety: thread safe.
#ifndef REIN_SERVICES_COORDINATOR_WORKER_CLIENTS_H_
#define REIN_SERVICES_COORDINATOR_WORKER_CLIENTS_H_

#include <map>
#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/options.h"

namespace rein::coordinator {

class WorkerClients {
 public:
  explicit WorkerClients(rpc::ClientOptions options) : options_(std::move(options)) {}

  absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(const std::string& address);
  const rpc::ClientOptions& options() const { return options_; }

 private:
  const rpc::ClientOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_WORKER_CLIENTS_H_
