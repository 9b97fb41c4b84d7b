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

  // The set that the last Install() replaced, for the next transfer to assemble into (see
  // tensor::ChunkAssembler::Create), once no request holds it any more; empty otherwise. Handing
  // it out forgets it, so it is given at most once.
  tensor::TensorSet TakeSpare();

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const tensor::TensorSet> current_ ABSL_GUARDED_BY(mu_);
  // The replaced set. Current() never hands it out, so once its use count is 1 nobody else can
  // reach it.
  std::shared_ptr<const tensor::TensorSet> spare_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::weightsync

#endif  // REIN_COMMON_WEIGHTSYNC_VERSIONED_WEIGHTS_H_
