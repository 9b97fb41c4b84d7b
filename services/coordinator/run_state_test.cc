#include "services/coordinator/run_state.h"

#include <catch2/catch.hpp>
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
  while (auto parameters = run.BeginIteration()) {
    CHECK(parameters->kl_coef() == 0.05);
    run.EndIteration({}, static_cast<uint64_t>(++ran), 0);
  }
  CHECK(ran == 3);
  run.Finish(absl::OkStatus());
  rein::v1::RunStatus status = run.Snapshot();
  CHECK(status.state() == rein::v1::RUN_STATE_FINISHED);
  CHECK(status.iteration() == 3);
  CHECK(status.policy_version() == 3);
}

TEST_CASE("run state: set changes live parameters from the next iteration; bad values refused") {
  RunState run(5, 1, Initial());
  run.MarkRunning();
  rein::v1::HyperParameters change;
  change.set_kl_coef(0.2);
  REQUIRE(run.Set(change).ok());
  auto parameters = run.BeginIteration();
  REQUIRE(parameters.has_value());
  CHECK(parameters->kl_coef() == 0.2);
  CHECK(parameters->learning_rate() == 1e-6);  // Unset fields keep their value.
  rein::v1::HyperParameters bad;
  bad.set_learning_rate(0);
  auto refused = run.Set(bad);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(refused.status().message()).find("learning_rate") != std::string::npos);
}

TEST_CASE("run state: pause blocks the loop until resume; stop ends it") {
  RunState run(100, 1, Initial());
  run.MarkRunning();
  REQUIRE(run.Pause().ok());
  CHECK(run.Snapshot().state() == rein::v1::RUN_STATE_PAUSED);
  std::optional<rein::v1::HyperParameters> got;
  std::thread loop([&] { got = run.BeginIteration(); });
  REQUIRE(run.Resume().ok());
  loop.join();
  CHECK(got.has_value());
  run.Stop();
  CHECK_FALSE(run.BeginIteration().has_value());
  CHECK(run.Snapshot().state() == rein::v1::RUN_STATE_STOPPING);
  CHECK(run.Pause().status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("run state: a resumed run counts from its checkpoint and reports an ETA") {
  RunState run(10, 6, Initial());
  run.MarkRunning();
  REQUIRE(run.BeginIteration().has_value());
  run.EndIteration({}, 6, 1);
  rein::v1::RunStatus status = run.Snapshot();
  CHECK(status.iteration() == 6);
  CHECK(status.max_policy_lag() == 1);
  CHECK(status.has_eta());
}

}  // namespace
}  // namespace rein::coordinator
