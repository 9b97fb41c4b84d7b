// Who is in the run: the workers that registered with the coordinator, by role.
// Thread safety: all methods are thread safe.
#ifndef REIN_SERVICES_COORDINATOR_WORKER_REGISTRY_H_
#define REIN_SERVICES_COORDINATOR_WORKER_REGISTRY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rein/v1/coordinator.pb.h"

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
  // Adds or updates (same worker_id) a worker. Returns the number of workers now in its role.
  // INVALID_ARGUMENT naming the field for an unspecified role, empty id, an address that is
  // not host:port, or capacity < 1.
  absl::StatusOr<int> Register(const rein::v1::RegisterRequest& request);

  // Workers of `role` that have not been excluded, ordered by id (learners by rank).
  std::vector<Worker> Active(rein::v1::Role role) const;

  // Takes a worker out of scheduling (it failed); it comes back if it registers again.
  void Exclude(const std::string& worker_id);

  // Waits until at least `count` workers of `role` are active. DEADLINE_EXCEEDED after
  // `timeout`, saying how many arrived.
  absl::Status WaitFor(rein::v1::Role role, int count, absl::Duration timeout);

 private:
  struct Entry {
    Worker worker;
    bool excluded = false;
  };
  int ActiveCount(rein::v1::Role role) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> workers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_WORKER_REGISTRY_H_
