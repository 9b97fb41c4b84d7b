// Watches, from a worker, the coordinator it registered with, for launchers that restart
// processes on their own (Kubernetes restarts a crashed coordinator pod in place; its workers
// would otherwise stay registered with a process that no longer exists and the new coordinator
// would wait for them forever). Every second it asks the coordinator's Status:
//   - another coordinator_incarnation than the one that accepted the registration: the
//     coordinator was restarted, and `on_lost` is called with the reason;
//   - no answer for `lost_after`: the same, unless the last answer said the run had ended
//     (then `on_lost` gets an empty reason: a clean end).
// The worker then stops; its launcher starts it again and it registers with the new
// coordinator (a learner resumes from the run folder's newest checkpoint).
// Thread safety: constructs and destroys from one thread; on_lost runs on the watch thread.
#ifndef REIN_SERVICES_WORKER_COORDINATOR_WATCH_H_
#define REIN_SERVICES_WORKER_COORDINATOR_WATCH_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/rpc/options.h"
#include "rein/v1/coordinator.grpc.pb.h"

namespace rein::worker {

class CoordinatorWatch {
 public:
  // `on_lost` is called at most once. Errors creating the channel are reported through it.
  CoordinatorWatch(const std::string& address, const rpc::ClientOptions& client,
                   std::string incarnation, absl::Duration lost_after,
                   std::function<void(const std::string& reason)> on_lost);
  // Stops watching (within about a second) and joins the thread.
  ~CoordinatorWatch();
  CoordinatorWatch(const CoordinatorWatch&) = delete;
  CoordinatorWatch& operator=(const CoordinatorWatch&) = delete;

 private:
  // Polls until the destructor stops it or on_lost has been called.
  void Watch();

  const std::string address_;
  const rpc::ClientOptions client_;
  const std::string incarnation_;
  const absl::Duration lost_after_;
  const std::function<void(const std::string&)> on_lost_;
  std::unique_ptr<rein::v1::Coordinator::Stub> stub_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace rein::worker

#endif  // REIN_SERVICES_WORKER_COORDINATOR_WATCH_H_
