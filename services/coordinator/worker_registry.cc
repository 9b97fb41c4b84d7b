#include "services/coordinator/worker_registry.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace rein::coordinator {
namespace {

bool IsHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  return colon != std::string::npos && colon > 0 &&
         absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) && port > 0 &&
         port < 65536;
}

}  // namespace

WorkerRegistry::WorkerRegistry(prometheus::Registry* metrics) {
  if (metrics != nullptr) {
    workers_gauge_ = &prometheus::BuildGauge()
                          .Name("rein_coordinator_workers")
                          .Help("Workers registered and not excluded, by role.")
                          .Register(*metrics);
  }
}

void WorkerRegistry::Publish(rein::v1::Role role) {
  if (workers_gauge_ == nullptr) return;
  const std::string label =
      absl::AsciiStrToLower(absl::StripPrefix(rein::v1::Role_Name(role), "ROLE_"));
  workers_gauge_->Add({{"role", label}}).Set(ActiveCount(role));
}

absl::StatusOr<int> WorkerRegistry::Register(const rein::v1::RegisterRequest& request) {
  if (request.role() == rein::v1::ROLE_UNSPECIFIED || !rein::v1::Role_IsValid(request.role())) {
    return absl::InvalidArgumentError("role: unspecified");
  }
  if (request.worker_id().empty()) return absl::InvalidArgumentError("worker_id: empty");
  if (!IsHostPort(request.address())) {
    return absl::InvalidArgumentError(
        absl::StrCat("address: '", request.address(), "' is not host:port"));
  }
  if (request.capacity() < 1) return absl::InvalidArgumentError("capacity: must be >= 1");
  Worker worker{request.worker_id(), request.role(), request.address(),
                static_cast<int>(request.capacity()), static_cast<int>(request.rank())};
  std::string id = worker.id;
  absl::MutexLock lock(&mu_);
  if (workers_.size() >= kMaxWorkers && workers_.find(id) == workers_.end()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("worker_id: ", kMaxWorkers, " workers are registered, the limit"));
  }
  workers_[id] = Entry{std::move(worker), false};
  Publish(request.role());
  return ActiveCount(request.role());
}

std::optional<Worker> WorkerRegistry::FindActive(const std::string& worker_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.excluded) return std::nullopt;
  return it->second.worker;
}

std::vector<Worker> WorkerRegistry::Active(rein::v1::Role role) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Worker> active;
  for (const auto& [id, entry] : workers_) {
    if (entry.worker.role == role && !entry.excluded) active.push_back(entry.worker);
  }
  if (role == rein::v1::ROLE_LEARNER) {
    std::sort(active.begin(), active.end(),
              [](const Worker& a, const Worker& b) { return a.rank < b.rank; });
  }
  return active;
}

std::vector<Worker> WorkerRegistry::Lost(rein::v1::Role role) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Worker> lost;
  for (const auto& [id, entry] : workers_) {
    if (entry.worker.role == role && entry.excluded) lost.push_back(entry.worker);
  }
  return lost;
}

void WorkerRegistry::Exclude(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  it->second.excluded = true;
  Publish(it->second.worker.role);
}

int WorkerRegistry::ActiveCount(rein::v1::Role role) const {
  return static_cast<int>(std::count_if(workers_.begin(), workers_.end(), [role](const auto& kv) {
    return kv.second.worker.role == role && !kv.second.excluded;
  }));
}

absl::Status WorkerRegistry::WaitFor(rein::v1::Role role, int count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, role, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ActiveCount(role) >= count;
  };
  if (mu_.AwaitWithTimeout(absl::Condition(&enough), timeout)) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      ActiveCount(role), " of ", count, " ", rein::v1::Role_Name(role), " workers registered after ",
      absl::FormatDuration(timeout)));
}

}  // namespace rein::coordinator
