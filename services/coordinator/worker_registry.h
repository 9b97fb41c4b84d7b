// Who is in the run: the workers that registered with the coordinator, by role. With a
// metrics registry it exports rein_coordinator_workers{role} (active workers per role, the role
// as "rollout", "reward", "feedback"...).
// Thread safety: all methods are thread safe.
#ifndef REIN_SERVICES_COORDINATOR_WORKER_REGISTRY_H_
#define REIN_SERVICES_COORDINATOR_WORKER_REGISTRY_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rein/v1/coordinator.pb.h"

namespace prometheus {
class Registry;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace rein::coordinator {

struct Worker {
  std::string id;
  rein::v1::Role role = rein::v1::ROLE_UNSPECIFIED;
  std::string address;  // host:port
  int capacity = 1;     // sequences per call
  int rank = 0;         // learners only
};

class WorkerRegistry {
 public:
  // `metrics` (may be null: no metrics) must outlive the registry.
  explicit WorkerRegistry(prometheus::Registry* metrics = nullptr);

  // Workers (distinct ids, excluded ones included) one run holds: far beyond any cluster, and a
  // bound on what a client registering made-up ids can make the coordinator keep.
  static constexpr size_t kMaxWorkers = 1 << 14;

  // Adds or updates (same worker_id) a worker. Returns the number of workers now in its role.
  // INVALID_ARGUMENT naming the field for an unspecified role, empty id, an address that is
  // not host:port, or capacity < 1; RESOURCE_EXHAUSTED for a new worker_id once kMaxWorkers
  // are registered.
  absl::StatusOr<int> Register(const rein::v1::RegisterRequest& request);

  // The active (not excluded) worker registered as `worker_id`, if any.
  std::optional<Worker> FindActive(const std::string& worker_id) const;

  // Workers of `role` that have not been excluded, ordered by id (learners by rank).
  std::vector<Worker> Active(rein::v1::Role role) const;

  // Takes a worker out of scheduling (it failed); it comes back if it registers again.
  void Exclude(const std::string& worker_id);

  // The workers of `role` taken out of scheduling, ordered by id: what a run that fails for
  // want of the role lost.
  std::vector<Worker> Lost(rein::v1::Role role) const;

  // Waits until at least `count` workers of `role` are active. DEADLINE_EXCEEDED after
  // `timeout`, saying how many arrived.
  absl::Status WaitFor(rein::v1::Role role, int count, absl::Duration timeout);

 private:
  struct Entry {
    Worker worker;
    bool excluded = false;
  };
  int ActiveCount(rein::v1::Role role) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Sets the role's gauge to its active count.
  void Publish(rein::v1::Role role) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  prometheus::Family<prometheus::Gauge>* workers_gauge_ = nullptr;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> workers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_WORKER_REGISTRY_H_
