#include "services/coordinator/run_checkpoint.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/testing/subprocess.h"

namespace rein::coordinator {
namespace {

namespace fs = std::filesystem;

CoordinatorState Example() {
  CoordinatorState state;
  state.iteration = 12;
  state.dataset_cursor = 768;
  state.kl_coef = 0.0375;
  state.learning_rate = 3e-6;
  state.policy_version = 12;
  state.seed = 7;
  state.mode = "ppo";
  return state;
}

absl::Status WriteMarker(const std::string& dir) {
  fs::create_directories(dir);
  std::ofstream(dir + "/weights") << "w";
  return absl::OkStatus();
}

TEST_CASE("a run checkpoint keeps the round whose reward model is in use") {
  const std::string dir = testing::MakeTempDir("rein-run-ckpt-") + "/iter-40";
  CoordinatorState state = Example();
  CHECK_FALSE(state.rounds.has_value());
  state.rounds = RoundCheckpoint{2, 2, "/runs/x/rounds/round-2/reward-learner/policy",
                                 "/runs/x/rounds/round-2/reward-learner", 0.8125, 2,
                                 "/runs/x/rounds/round-2/cost-learner/policy",
                                 "/runs/x/rounds/round-2/cost-learner"};
  REQUIRE(WriteRunCheckpoint(dir, state, WriteMarker).ok());
  auto back = ReadRunCheckpoint(dir);
  REQUIRE(back.ok());
  REQUIRE(back->rounds.has_value());
  CHECK(*back->rounds == *state.rounds);
  state.rounds->reward_model_accuracy.reset();
  REQUIRE(WriteRunCheckpoint(dir, state, WriteMarker).ok());
  CHECK_FALSE(ReadRunCheckpoint(dir)->rounds->reward_model_accuracy.has_value());
  // A malformed rounds object names itself.
  std::ofstream(dir + "/coordinator.json")
      << R"({"format_version": 1, "iteration": 1, "dataset_cursor": 0, "kl_coef": 0.1,
             "learning_rate": 0.1, "policy_version": 1, "seed": 1, "mode": "ppo",
             "rounds": {"round": 1}})";
  auto bad = ReadRunCheckpoint(dir);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.status().message().find("rounds: missing reward_model_version") != std::string::npos);
}

TEST_CASE("a run checkpoint round-trips the coordinator state beside the learner's") {
  const std::string dir = testing::MakeTempDir("rein-run-ckpt-") + "/iter-12";
  REQUIRE(WriteRunCheckpoint(dir, Example(), WriteMarker).ok());
  auto back = ReadRunCheckpoint(dir);
  REQUIRE(back.ok());
  CHECK(back->iteration == 12);
  CHECK(back->dataset_cursor == 768);
  CHECK(back->kl_coef == 0.0375);
  CHECK(back->learning_rate == 3e-6);
  CHECK(back->policy_version == 12);
  CHECK(back->seed == 7);
  CHECK(back->mode == "ppo");
  CHECK(fs::exists(LearnerCheckpointDir(dir) + "/weights"));
  // Writing the same folder again replaces it whole.
  CoordinatorState later = Example();
  later.iteration = 13;
  REQUIRE(WriteRunCheckpoint(dir, later, WriteMarker).ok());
  CHECK(ReadRunCheckpoint(dir)->iteration == 13);
}

TEST_CASE("a failed learner save leaves no checkpoint folder behind") {
  const std::string parent = testing::MakeTempDir("rein-run-ckpt-");
  absl::Status status = WriteRunCheckpoint(parent + "/iter-1", Example(), [](const std::string&) {
    return absl::UnavailableError("learner went away");
  });
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK(fs::is_empty(parent));
}

TEST_CASE("reading something that is not a checkpoint says so") {
  const std::string dir = testing::MakeTempDir("rein-run-ckpt-");
  CHECK(ReadRunCheckpoint(dir).status().code() == absl::StatusCode::kNotFound);
  std::ofstream(dir + "/coordinator.json") << "{\"format_version\": 1, \"iteration\": \"x\"}";
  auto bad = ReadRunCheckpoint(dir);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("iteration"));
}

}  // namespace
}  // namespace rein::coordinator
