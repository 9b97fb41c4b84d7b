#include "services/coordinator/run_state.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace rein::coordinator {
namespace {

bool Ended(rein::v1::RunState state) {
  return state == rein::v1::RUN_STATE_FINISHED || state == rein::v1::RUN_STATE_FAILED ||
         state == rein::v1::RUN_STATE_STOPPED || state == rein::v1::RUN_STATE_STOPPING;
}

absl::Status CheckParameter(const char* name, bool present, double value, bool positive) {
  if (!present) return absl::OkStatus();
  if (!std::isfinite(value) || value < 0 || (positive && value == 0)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", value, " must be ",
                                                   positive ? "positive" : "non-negative"));
  }
  return absl::OkStatus();
}

}  // namespace

RunState::RunState(uint64_t total_iterations, uint64_t first_iteration,
                   rein::v1::HyperParameters initial)
    : total_iterations_(total_iterations),
      first_iteration_(first_iteration),
      next_iteration_(first_iteration),
      parameters_(std::move(initial)) {}

absl::StatusOr<rein::v1::RunStatus> RunState::Pause() {
  {
    absl::MutexLock lock(&mu_);
    if (Ended(state_)) {
      return absl::FailedPreconditionError(
          absl::StrCat("run is ", rein::v1::RunState_Name(state_), "; cannot pause"));
    }
    if (state_ != rein::v1::RUN_STATE_PAUSED) {
      SetState(rein::v1::RUN_STATE_PAUSED);
      paused_since_ = absl::Now();
    }
  }
  return Snapshot();
}

absl::StatusOr<rein::v1::RunStatus> RunState::Resume() {
  {
    absl::MutexLock lock(&mu_);
    if (Ended(state_)) {
      return absl::FailedPreconditionError(
          absl::StrCat("run is ", rein::v1::RunState_Name(state_), "; cannot resume"));
    }
    if (state_ == rein::v1::RUN_STATE_PAUSED) {
      paused_total_ += absl::Now() - paused_since_;
      SetState(started_ == absl::InfinitePast() ? rein::v1::RUN_STATE_WAITING_FOR_WORKERS
                                                : rein::v1::RUN_STATE_RUNNING);
    }
  }
  return Snapshot();
}

rein::v1::RunStatus RunState::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!Ended(state_)) SetState(rein::v1::RUN_STATE_STOPPING);
  }
  return Snapshot();
}

absl::StatusOr<rein::v1::RunStatus> RunState::Set(const rein::v1::HyperParameters& parameters) {
  absl::Status kl = CheckParameter("kl_coef", parameters.has_kl_coef(), parameters.kl_coef(), false);
  if (!kl.ok()) return kl;
  absl::Status lr = CheckParameter("learning_rate", parameters.has_learning_rate(),
                                   parameters.learning_rate(), true);
  if (!lr.ok()) return lr;
  {
    absl::MutexLock lock(&mu_);
    parameters_.MergeFrom(parameters);
  }
  return Snapshot();
}

rein::v1::RunStatus RunState::Snapshot() const {
  absl::MutexLock lock(&mu_);
  rein::v1::RunStatus status;
  status.set_state(state_);
  status.set_iteration(next_iteration_ - 1);
  status.set_total_iterations(total_iterations_);
  *status.mutable_last_iteration() = last_stats_;
  status.set_error(error_);
  status.set_policy_version(policy_version_);
  status.set_max_policy_lag(max_policy_lag_);
  if (round_) *status.mutable_round() = *round_;
  uint64_t done = next_iteration_ - first_iteration_;
  if (done > 0 && started_ != absl::InfinitePast()) {
    absl::Time now = state_ == rein::v1::RUN_STATE_PAUSED ? paused_since_ : absl::Now();
    absl::Duration per_iteration = (now - started_ - paused_total_) / static_cast<double>(done);
    uint64_t left = total_iterations_ >= next_iteration_ ? total_iterations_ - next_iteration_ + 1 : 0;
    absl::Duration eta = per_iteration * static_cast<double>(left);
    *status.mutable_eta() = google::protobuf::util::TimeUtil::NanosecondsToDuration(
        absl::ToInt64Nanoseconds(eta));
  }
  return status;
}

rein::v1::HyperParameters RunState::Parameters() const {
  absl::MutexLock lock(&mu_);
  return parameters_;
}

void RunState::ExportState(prometheus::Gauge& gauge) {
  absl::MutexLock lock(&mu_);
  state_gauge_ = &gauge;
  gauge.Set(static_cast<double>(state_));
}

void RunState::SetState(rein::v1::RunState state) {
  state_ = state;
  if (state_gauge_ != nullptr) state_gauge_->Set(static_cast<double>(state));
}

void RunState::MarkRunning() {
  absl::MutexLock lock(&mu_);
  started_ = absl::Now();
  if (state_ == rein::v1::RUN_STATE_WAITING_FOR_WORKERS) SetState(rein::v1::RUN_STATE_RUNNING);
  if (state_ == rein::v1::RUN_STATE_PAUSED) paused_since_ = started_;
}

void RunState::SetRound(const rein::v1::RoundStatus& round) {
  absl::MutexLock lock(&mu_);
  round_ = round;
}

bool RunState::WaitForStop(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return state_ == rein::v1::RUN_STATE_STOPPING || Ended(state_);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&stopping), timeout);
}

LoopStep RunState::NextStep() {
  absl::MutexLock lock(&mu_);
  auto can_act = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return state_ != rein::v1::RUN_STATE_PAUSED || !checkpoint_queue_.empty();
  };
  mu_.Await(absl::Condition(&can_act));
  LoopStep step;
  if (!checkpoint_queue_.empty()) {
    step.kind = LoopStep::Kind::kCheckpoint;
    step.checkpoint_ticket = checkpoint_queue_.front().ticket;
    step.checkpoint_directory = checkpoint_queue_.front().directory;
    checkpoint_queue_.pop_front();
    return step;
  }
  if (Ended(state_) || next_iteration_ > total_iterations_) return step;
  step.kind = LoopStep::Kind::kIterate;
  step.parameters = parameters_;
  return step;
}

void RunState::AdoptKlCoef(double before, double after) {
  absl::MutexLock lock(&mu_);
  if (parameters_.kl_coef() == before) parameters_.set_kl_coef(after);
}

absl::StatusOr<rein::v1::CheckpointResponse> RunState::Checkpoint(const std::string& directory,
                                                                  absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  if (state_ == rein::v1::RUN_STATE_FINISHED || state_ == rein::v1::RUN_STATE_FAILED ||
      state_ == rein::v1::RUN_STATE_STOPPED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "run is ", rein::v1::RunState_Name(state_),
        "; its final checkpoint is under <run dir>/checkpoints"));
  }
  const uint64_t ticket = next_ticket_++;
  checkpoint_queue_.push_back({ticket, directory});
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return checkpoint_results_.count(ticket) > 0;
  };
  if (!mu_.AwaitWithDeadline(absl::Condition(&done), deadline)) {
    return absl::DeadlineExceededError(
        "the checkpoint was not written before the call's deadline; it still will be (between "
        "iterations)");
  }
  auto it = checkpoint_results_.find(ticket);
  absl::StatusOr<rein::v1::CheckpointResponse> result = std::move(it->second);
  checkpoint_results_.erase(it);
  return result;
}

void RunState::CompleteCheckpoint(uint64_t ticket,
                                  const absl::StatusOr<rein::v1::CheckpointResponse>& result) {
  absl::MutexLock lock(&mu_);
  checkpoint_results_.emplace(ticket, result);
}

void RunState::EndIteration(const rein::v1::Stats& stats, uint64_t policy_version,
                            uint64_t policy_lag) {
  absl::MutexLock lock(&mu_);
  last_stats_ = stats;
  policy_version_ = policy_version;
  max_policy_lag_ = std::max(max_policy_lag_, policy_lag);
  ++next_iteration_;
}

void RunState::Finish(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  // Nobody will take the queued checkpoints any more: answer them.
  for (const PendingCheckpoint& pending : checkpoint_queue_) {
    checkpoint_results_.emplace(pending.ticket,
                                absl::FailedPreconditionError("the run ended before the checkpoint"));
  }
  checkpoint_queue_.clear();
  if (!status.ok()) {
    SetState(rein::v1::RUN_STATE_FAILED);
  } else {
    // A stop that arrived after the last iteration had started changed nothing: finished.
    const bool cut_short = next_iteration_ <= total_iterations_;
    SetState(state_ == rein::v1::RUN_STATE_STOPPING && cut_short ? rein::v1::RUN_STATE_STOPPED
                                                                 : rein::v1::RUN_STATE_FINISHED);
  }
  error_ = status.ok() ? "" : std::string(status.message());
}

uint64_t RunState::next_iteration() const {
  absl::MutexLock lock(&mu_);
  return next_iteration_;
}

}  // namespace rein::coordinator
