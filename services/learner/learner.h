// The learner's core, without gRPC: applies Train requests to its LearnerState one at a time,
// and lends the current weights to pushes, weight streams and checkpoints.
//
//   ASSIGN_OR_RETURN(auto state, LearnerState::Create(options));
//   ASSIGN_OR_RETURN(auto learner, Learner::Create(std::move(state), registry));
//   ASSIGN_OR_RETURN(rein::v1::TrainResponse reply, learner->Train(request));
//
// Contract of Train (learner.proto): the batch kind must match the mode; the iteration must be
// larger than the last applied one (FAILED_PRECONDITION otherwise; a refused Train changes
// nothing); a malformed batch is INVALID_ARGUMENT naming the offending item and changes
// nothing. Overrides (kl_coef, learning_rate) apply from this Train on and stay.
//
// Thread safety: all methods are thread safe. Trains are serialised and exclusive; weight
// readers (WithWeights) copy the weights under a shared lock and stream the copy without it, so
// no network write ever happens under the learner's lock; Train and SaveCheckpoint are
// exclusive.
// Speaks for its state's rank. With data-parallel ranks, every rank's Train is a collective:
// the coordinator calls all ranks with their slices of one batch at once; the ranks first agree
// that every one of them accepts its slice (else all refuse), then train in lockstep and reply
// with the same whole-batch statistics. Only rank 0 is asked to push weights or save checkpoints.
#ifndef REIN_SERVICES_LEARNER_LEARNER_H_
#define REIN_SERVICES_LEARNER_LEARNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/tensor/chunking.h"
#include "rein/v1/learner.pb.h"
#include "services/learner/learner_metrics.h"
#include "services/learner/learner_state.h"

namespace rein::learner {

class Learner {
 public:
  // Takes ownership of `state`. `registry` must outlive the Learner.
  static absl::StatusOr<std::unique_ptr<Learner>> Create(std::unique_ptr<LearnerState> state,
                                                         prometheus::Registry& registry);
  Learner(const Learner&) = delete;
  Learner& operator=(const Learner&) = delete;

  // `keep_going` (e.g. rpc::CallerWaitsCheck) is asked once the Train holds the learner: a
  // Train whose caller has gone is refused (on every rank, through the batch agreement) and
  // changes nothing. A single-rank RL Train also asks it before its first update (RlStep).
  absl::StatusOr<rein::v1::TrainResponse> Train(
      const rein::v1::TrainRequest& request,
      const std::function<absl::Status()>& keep_going = {}) ABSL_LOCKS_EXCLUDED(mu_);

  // The policy's weights as of one version, under their Hugging Face names: a copy in host
  // memory, immutable, taken under the learner's shared lock.
  struct WeightsSnapshot {
    uint64_t version = 0;
    std::vector<tensor::NamedTensor> tensors;
  };
  // The current version's snapshot. Calls that overlap share one copy (it lives while anyone
  // holds it), so concurrent pushes and streams of a version cost one copy of the weights.
  absl::StatusOr<std::shared_ptr<const WeightsSnapshot>> SnapshotWeights()
      ABSL_LOCKS_EXCLUDED(mu_, snapshot_mu_);

  // Calls `fn` with the current policy version and its tensors (SnapshotWeights: `fn` runs
  // without the learner's lock, so a slow or stalled consumer never blocks Train). Returns
  // fn's status.
  using WeightsFn =
      absl::FunctionRef<absl::Status(uint64_t version, absl::Span<const tensor::NamedTensor>)>;
  absl::Status WithWeights(WeightsFn fn) ABSL_LOCKS_EXCLUDED(mu_, snapshot_mu_);

  // Writes a checkpoint (checkpoint_io.h) into `directory`; returns the step it holds.
  absl::StatusOr<uint64_t> SaveCheckpoint(const std::string& directory) ABSL_LOCKS_EXCLUDED(mu_);

  // Replaces the whole state with the checkpoint in `directory` (read under this state's
  // options). FAILED_PRECONDITION with data-parallel ranks (the group would have to restore
  // together); the checkpoint's errors otherwise; on error the current state stays.
  struct Restored {
    uint64_t step = 0;
    uint64_t policy_version = 0;
  };
  absl::StatusOr<Restored> Restore(const std::string& directory) ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t policy_version() const ABSL_LOCKS_EXCLUDED(mu_);
  LearnerMetrics& metrics() { return metrics_; }

  // For tests: runs `fn` on the state with the learner locked.
  void InspectState(absl::FunctionRef<void(LearnerState&)> fn) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Learner(std::unique_ptr<LearnerState> state, prometheus::Registry& registry);
  absl::Status Validate(const rein::v1::TrainRequest& request) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::unique_ptr<LearnerState> state_ ABSL_GUARDED_BY(mu_);
  // Taken before mu_, never while holding it.
  absl::Mutex snapshot_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::weak_ptr<const WeightsSnapshot> snapshot_ ABSL_GUARDED_BY(snapshot_mu_);
  LearnerMetrics metrics_;
};

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_LEARNER_H_
