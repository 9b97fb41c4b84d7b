#include "common/weightsync/versioned_weights.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace rein::weightsync {

absl::Status VersionedWeights::Install(tensor::TensorSet set) {
  auto next = std::make_shared<const tensor::TensorSet>(std::move(set));
  std::shared_ptr<const tensor::TensorSet> previous;
  {
    absl::MutexLock lock(&mu_);
    if (current_ != nullptr && next->policy_version <= current_->policy_version) {
      return absl::FailedPreconditionError(
          absl::StrCat("policy v", next->policy_version, " is not newer than the loaded v",
                       current_->policy_version));
    }
    previous = std::exchange(spare_, std::exchange(current_, std::move(next)));
  }
  // The older spare is released here, outside the lock; requests holding it keep it alive.
  return absl::OkStatus();
}

std::shared_ptr<const tensor::TensorSet> VersionedWeights::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

tensor::TensorSet VersionedWeights::TakeSpare() {
  std::shared_ptr<const tensor::TensorSet> spare;
  {
    absl::MutexLock lock(&mu_);
    spare = std::move(spare_);
  }
  if (spare == nullptr || spare.use_count() != 1) return {};
  return *spare;  // Copies tensor handles, not data; `spare` releases its own on return.
}

uint64_t VersionedWeights::version() const {
  absl::MutexLock lock(&mu_);
  return current_ == nullptr ? 0 : current_->policy_version;
}

}  // namespace rein::weightsync
