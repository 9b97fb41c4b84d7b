#include "services/coordinator/run_state.h"

#include <catch2/catch.hpp>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <thread>

namespace rein::coordinator {
namespace {

rein::v1::HyperParameters Initial() {
  rein::v1::HyperParameters parameters;
  parameters.set_kl_coef(0.05);
  parameters.set_learning_rate(1e-6);
  return parameters;
}

TEST_CASE("run state: iterations advance to the configured total, then the loop ends") {
  RunState run(3, 1, Initial());
  run.MarkRunning();
  int ran = 0;
  for (LoopStep step = run.NextStep(); step.kind == LoopStep::Kind::kIterate;
       step = run.NextStep()) {
    CHECK(step.parameters.kl_coef() == 0.05);
    run.EndIteration({}, static_cast<uint64_t>(++ran), 0);
  }
  CHECK(ran == 3);
  run.Finish(absl::OkStatus());
  rein::v1::RunStatus status = run.Snapshot();
  CHECK(status.state() == rein::v1::RUN_STATE_FINISHED);
  CHECK(status.iteration() == 3);
  CHECK(status.policy_version() == 3);
}

TEST_CASE("run state: set changes live parameters from the next iteration, bad values are refused") {
  RunState run(5, 1, Initial());
  run.MarkRunning();
  rein::v1::HyperParameters change;
  change.set_kl_coef(0.2);
  REQUIRE(run.Set(change).ok());
  LoopStep step = run.NextStep();
  REQUIRE(step.kind == LoopStep::Kind::kIterate);
  CHECK(step.parameters.kl_coef() == 0.2);
  CHECK(step.parameters.learning_rate() == 1e-6);  // Unset fields keep their value.
  rein::v1::HyperParameters bad;
  bad.set_learning_rate(0);
  auto refused = run.Set(bad);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(refused.status().message()).find("learning_rate") != std::string::npos);
}

TEST_CASE("run state: pause blocks the loop until resume, and stop ends it") {
  RunState run(100, 1, Initial());
  run.MarkRunning();
  REQUIRE(run.Pause().ok());
  CHECK(run.Snapshot().state() == rein::v1::RUN_STATE_PAUSED);
  LoopStep got;
  std::thread loop([&] { got = run.NextStep(); });
  REQUIRE(run.Resume().ok());
  loop.join();
  CHECK(got.kind == LoopStep::Kind::kIterate);
  run.Stop();
  CHECK(run.NextStep().kind == LoopStep::Kind::kEnd);
  CHECK(run.Snapshot().state() == rein::v1::RUN_STATE_STOPPING);
  CHECK(run.Pause().status().code() == absl::StatusCode::kFailedPrecondition);
  // A stop before the last iteration ends the run stopped, not finished.
  run.Finish(absl::OkStatus());
  CHECK(run.Snapshot().state() == rein::v1::RUN_STATE_STOPPED);
  CHECK(run.Resume().status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("run state: a stop that arrives after the last iteration leaves the run finished") {
  RunState run(2, 1, Initial());
  run.MarkRunning();
  for (uint64_t i = 1; i <= 2; ++i) {
    REQUIRE(run.NextStep().kind == LoopStep::Kind::kIterate);
    run.EndIteration({}, i, 0);
  }
  run.Stop();
  run.Finish(absl::OkStatus());
  CHECK(run.Snapshot().state() == rein::v1::RUN_STATE_FINISHED);
  RunState failed(5, 1, Initial());
  failed.Stop();
  failed.Finish(absl::InternalError("boom"));
  CHECK(failed.Snapshot().state() == rein::v1::RUN_STATE_FAILED);
}

TEST_CASE("run state: a resumed run counts from its checkpoint and reports an ETA") {
  RunState run(10, 6, Initial());
  run.MarkRunning();
  REQUIRE(run.NextStep().kind == LoopStep::Kind::kIterate);
  run.EndIteration({}, 6, 1);
  rein::v1::RunStatus status = run.Snapshot();
  CHECK(status.iteration() == 6);
  CHECK(status.max_policy_lag() == 1);
  CHECK(status.has_eta());
}

TEST_CASE("run state: a checkpoint request is served by the loop even while paused") {
  RunState run(10, 1, Initial());
  run.MarkRunning();
  REQUIRE(run.Pause().ok());
  std::thread loop([&] {
    LoopStep step = run.NextStep();  // Paused, but a checkpoint wakes it.
    REQUIRE(step.kind == LoopStep::Kind::kCheckpoint);
    CHECK(step.checkpoint_directory == "/tmp/ckpt");
    rein::v1::CheckpointResponse done;
    done.set_directory(step.checkpoint_directory);
    done.set_iteration(0);
    run.CompleteCheckpoint(step.checkpoint_ticket, done);
  });
  auto response = run.Checkpoint("/tmp/ckpt", absl::Now() + absl::Seconds(30));
  loop.join();
  REQUIRE(response.ok());
  CHECK(response->directory() == "/tmp/ckpt");
  // A request nobody serves times out, and is answered when the run ends.
  CHECK(run.Checkpoint("", absl::Now() + absl::Milliseconds(10)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  run.Finish(absl::OkStatus());
  CHECK(run.Checkpoint("", absl::Now() + absl::Seconds(1)).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("run state: the exported gauge follows waiting, running, paused and stopped") {
  prometheus::Registry registry;
  prometheus::Gauge& gauge =
      prometheus::BuildGauge().Name("rein_test_run_state").Register(registry).Add({});
  auto state = [&gauge] { return static_cast<int>(gauge.Value()); };
  RunState run(10, 1, Initial());
  run.ExportState(gauge);
  CHECK(state() == rein::v1::RUN_STATE_WAITING_FOR_WORKERS);
  run.MarkRunning();
  CHECK(state() == rein::v1::RUN_STATE_RUNNING);
  REQUIRE(run.Pause().ok());
  CHECK(state() == rein::v1::RUN_STATE_PAUSED);
  REQUIRE(run.Resume().ok());
  CHECK(state() == rein::v1::RUN_STATE_RUNNING);
  run.Stop();
  CHECK(state() == rein::v1::RUN_STATE_STOPPING);
  run.Finish(absl::OkStatus());
  CHECK(state() == rein::v1::RUN_STATE_STOPPED);
}

}  // namespace
}  // namespace rein::coordinator
