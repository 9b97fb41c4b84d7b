// The weights a rollout replica samples with, swapped atomically between requests.
//
// A request takes a snapshot (Current()) when it starts and keeps using it to the end, so an
// install never changes the weights under a running generation; the next request sees the
// new version. Installs must move forward: an equal or older version is refused, so a delayed
// push can never roll a replica back.
//
// Thread safety: all methods are thread safe. Snapshots are immutable and shared.
#ifndef REIN_COMMON_WEIGHTSYNC_VERSIONED_WEIGHTS_H_
#define REIN_COMMON_WEIGHTSYNC_VERSIONED_WEIGHTS_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/tensor/chunking.h"

namespace rein::weightsync {

class VersionedWeights {
 public:
  VersionedWeights() = default;
  VersionedWeights(const VersionedWeights&) = delete;
  VersionedWeights& operator=(const VersionedWeights&) = delete;

  // Makes `set` current. FAILED_PRECONDITION if its version is not newer than the current one.
  absl::Status Install(tensor::TensorSet set);

  // The current set (null before the first install).
  std::shared_ptr<const tensor::TensorSet> Current() const;

  // 0 before the first install.
  uint64_t version() const;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const tensor::TensorSet> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::weightsync

#endif  // REIN_COMMON_WEIGHTSYNC_VERSIONED_WEIGHTS_H_
