// Bucketed gradient all-reduce (averaging) for one set of parameters, overlapped with the
// backward pass.
//
// Parameters are laid out in reverse order (the order backward produces their gradients) in
// flat buckets of about `bucket_bytes` each (one dtype per bucket; a parameter larger than a
// bucket gets one to itself). During a backward that follows ArmForLastBackward(), a hook on
// each parameter copies its finished gradient (what .grad already holds from earlier
// micro-batches + this backward's contribution) into its bucket; a bucket whose parameters are
// all in is all-reduced at once, asynchronously, while backward goes on. Buckets start strictly
// in index order on every rank (a full bucket waits for the ones before it), so all ranks issue
// the same collectives in the same order even if their graphs differ. Finish() fills and starts
// whatever the backward did not (parameters without a gradient count as zeros), waits, and
// writes the averages into every parameter's .grad (defining it where it was undefined).
// Without ArmForLastBackward(), Finish() does all of it after backward (no overlap).
//
// Ownership: keeps the parameter tensors (shared storage) and hooks on them, removed in the
// destructor; the Communicator must outlive it. Speaks for the communicator's rank.
// Thread safety: hooks run on the autograd thread; state is guarded by a mutex. Arm, Finish and
// Reset are called by the training thread, one at a time.
#ifndef REIN_COMMON_DIST_GRADIENT_SYNC_H_
#define REIN_COMMON_DIST_GRADIENT_SYNC_H_

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/dist/communicator.h"

namespace rein::dist {

struct GradientSyncOptions {
  // Target bytes per bucket (learner.bucket_mb MiB). Default 25 MiB.
  size_t bucket_bytes = size_t{25} << 20;
  // Launch buckets from hooks during an armed backward. Default true.
  bool overlap = true;
};

class GradientSync {
 public:
  // `params`: leaf tensors that require grad (distinct), on the communicator's device type.
  // INVALID_ARGUMENT for none, an undefined one or one without requires_grad.
  static absl::StatusOr<std::unique_ptr<GradientSync>> Create(Communicator& comm,
                                                              std::vector<at::Tensor> params,
                                                              const GradientSyncOptions& options);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // The next backward is the last one before Finish(): start buckets as they fill.
  void ArmForLastBackward() ABSL_LOCKS_EXCLUDED(mu_);

  // Averages every parameter's gradient over the ranks (see above). The communicator's error
  // if a collective fails (gradients then undefined in content).
  absl::Status Finish() ABSL_LOCKS_EXCLUDED(mu_);

  // Forgets a half-done round (after a failed micro-batch): waits for collectives in flight
  // and disarms. The next Finish() starts over.
  void Reset() ABSL_LOCKS_EXCLUDED(mu_);

  size_t bucket_count() const { return buckets_.size(); }
  // Buckets the last Finish() found already started by hooks (overlapped with backward).
  size_t last_overlapped() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0;  // elements into the bucket's buffer
    int64_t numel = 0;
  };
  struct Bucket {
    at::Tensor buffer;            // flat, the bucket's dtype
    std::vector<size_t> params;   // indices into params_
    size_t missing = 0;           // parameters not yet copied in this round
    std::unique_ptr<PendingCollective> pending;
  };

  GradientSync(Communicator& comm, std::vector<at::Tensor> params,
               const GradientSyncOptions& options);
  void OnGradient(size_t index, const at::Tensor& grad) ABSL_LOCKS_EXCLUDED(mu_);
  // Copies parameter `index`'s gradient (plus `extra`, if defined) into its slot.
  void Fill(size_t index, const at::Tensor& extra) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts every bucket, in order, that is complete and not yet started.
  void LaunchComplete() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WaitAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartRound() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Communicator& comm_;
  const GradientSyncOptions options_;
  std::vector<at::Tensor> params_;
  std::vector<Slot> slots_;
  std::vector<unsigned> hooks_;
  std::vector<Bucket> buckets_;

  mutable absl::Mutex mu_;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<bool> filled_ ABSL_GUARDED_BY(mu_);
  size_t next_launch_ ABSL_GUARDED_BY(mu_) = 0;
  size_t overlapped_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::dist

#endif  // REIN_COMMON_DIST_GRADIENT_SYNC_H_
