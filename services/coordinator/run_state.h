// The run as the coordinator's control plane sees it: state (waiting, running, paused,
// stopping, finished, failed), progress, the last iteration's statistics and the live-tunable
// hyper-parameters that `reinctl set` changes between iterations.
//
// The iteration loop calls NextStep() before each iteration (it blocks while paused and says
// whether to iterate, checkpoint or end) and EndIteration() after; RPC handlers call the
// control methods.
// Thread safety: all methods are thread safe.
#ifndef REIN_SERVICES_COORDINATOR_RUN_STATE_H_
#define REIN_SERVICES_COORDINATOR_RUN_STATE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include <prometheus/gauge.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rein/v1/coordinator.pb.h"

namespace rein::coordinator {

// What the iteration loop does next (see RunState::NextStep).
struct LoopStep {
  enum class Kind { kIterate, kCheckpoint, kEnd };
  Kind kind = Kind::kEnd;
  rein::v1::HyperParameters parameters;  // kIterate
  uint64_t checkpoint_ticket = 0;        // kCheckpoint
  std::string checkpoint_directory;      // kCheckpoint; empty = the run's default place
};

class RunState {
 public:
  // `initial` holds the configured kl_coef and learning_rate; `first_iteration` is 1, or the
  // iteration after a checkpoint when resuming.
  RunState(uint64_t total_iterations, uint64_t first_iteration,
           rein::v1::HyperParameters initial);

  // Control plane. Pause/Resume are refused (FAILED_PRECONDITION) once the run has ended.
  absl::StatusOr<rein::v1::RunStatus> Pause();
  absl::StatusOr<rein::v1::RunStatus> Resume();
  rein::v1::RunStatus Stop();
  // Merges the set fields of `parameters`; they apply from the next iteration. Values must be
  // finite and non-negative (learning_rate positive): INVALID_ARGUMENT naming the field.
  absl::StatusOr<rein::v1::RunStatus> Set(const rein::v1::HyperParameters& parameters);
  rein::v1::RunStatus Snapshot() const;
  // The live hyper-parameters now.
  rein::v1::HyperParameters Parameters() const;

  // Checkpoints on request (reinctl checkpoint): the RPC handler queues a request and waits;
  // the loop performs it between iterations (even while paused) and completes it.
  // FAILED_PRECONDITION once the run has ended; DEADLINE_EXCEEDED if not done by `deadline`.
  absl::StatusOr<rein::v1::CheckpointResponse> Checkpoint(const std::string& directory,
                                                          absl::Time deadline);
  void CompleteCheckpoint(uint64_t ticket,
                          const absl::StatusOr<rein::v1::CheckpointResponse>& result);

  // Iteration loop. Blocks while paused (unless a checkpoint is asked for); says whether to
  // checkpoint, run the next iteration with the returned hyper-parameters, or end (stopped, or
  // all iterations done).
  LoopStep NextStep();
  // Iteration loop: the KL controller moved β from `before` to `after`; the next iteration uses
  // it unless `reinctl set` changed kl_coef in the meantime (then the user's value wins).
  void AdoptKlCoef(double before, double after);
  void EndIteration(const rein::v1::Stats& stats, uint64_t policy_version, uint64_t policy_lag);
  void MarkRunning();
  void Finish(const absl::Status& status);

  // The next iteration's number (from 1).
  uint64_t next_iteration() const;

  // Runs with rounds: where the round cycle is, shown in every Snapshot from now on.
  void SetRound(const rein::v1::RoundStatus& round);
  // Waits up to `timeout` for a stop request; true once the run is stopping or has ended. The
  // phases of a round that wait on people (collecting) call it instead of sleeping.
  bool WaitForStop(absl::Duration timeout) const;

  // Keeps `gauge` at the run's state (the rein.v1.RunState number: 3 paused, 5 finished, ...)
  // from now on, for alerts that must tell a paused run from a stalled one.
  void ExportState(prometheus::Gauge& gauge);

 private:
  void SetState(rein::v1::RunState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  prometheus::Gauge* state_gauge_ ABSL_GUARDED_BY(mu_) = nullptr;
  rein::v1::RunState state_ ABSL_GUARDED_BY(mu_) = rein::v1::RUN_STATE_WAITING_FOR_WORKERS;
  const uint64_t total_iterations_;
  const uint64_t first_iteration_;
  uint64_t next_iteration_ ABSL_GUARDED_BY(mu_);
  rein::v1::HyperParameters parameters_ ABSL_GUARDED_BY(mu_);
  rein::v1::Stats last_stats_ ABSL_GUARDED_BY(mu_);
  uint64_t policy_version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t max_policy_lag_ ABSL_GUARDED_BY(mu_) = 0;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::optional<rein::v1::RoundStatus> round_ ABSL_GUARDED_BY(mu_);
  absl::Time started_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration paused_total_ ABSL_GUARDED_BY(mu_);
  absl::Time paused_since_ ABSL_GUARDED_BY(mu_);
  struct PendingCheckpoint {
    uint64_t ticket;
    std::string directory;
  };
  std::deque<PendingCheckpoint> checkpoint_queue_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::StatusOr<rein::v1::CheckpointResponse>> checkpoint_results_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_RUN_STATE_H_
