// The iteration stages against in-process workers over real gRPC on loopback.
#include "services/coordinator/stages.h"

#include <catch2/catch.hpp>
#include <set>

#include "common/testing/subprocess.h"
#include "services/coordinator/fake_workers.h"

namespace rein::coordinator {
namespace {

std::vector<PromptItem> Prompts(int n) {
  std::vector<PromptItem> prompts;
  for (int i = 0; i < n; ++i) {
    prompts.push_back({static_cast<uint64_t>(100 + i), {i, i + 1}, static_cast<uint64_t>(i)});
  }
  return prompts;
}

GenerateOptions TwoSamples() {
  GenerateOptions options;
  options.samples_per_prompt = 2;
  return options;
}

TEST_CASE("generate, score and train move every sequence exactly once through the cluster") {
  Cluster cluster;
  StageContext context = cluster.Context();
  DispatchStats generate_stats, reward_stats, reference_stats;
  auto samples = GenerateStage(context, Prompts(10), TwoSamples(), &generate_stats);
  REQUIRE(samples.ok());
  REQUIRE(samples->size() == 20);
  for (size_t s = 0; s < samples->size(); ++s) {
    const Sample& sample = (*samples)[s];
    CHECK(sample.sequence_id == s);
    CHECK(sample.prompt_id == 100 + s / 2);
    CHECK(sample.response_ids.back() == static_cast<int32_t>(s % 2 + 1));
    CHECK(sample.policy_version == 7);
  }
  // Capacity 4 sequences = 2 prompts of 2 samples per call: 5 calls between the replicas.
  CHECK(generate_stats.calls == 5);
  REQUIRE(ScoreStage(context, *samples, &reward_stats, &reference_stats).ok());
  for (const Sample& sample : *samples) {
    CHECK(sample.reward == static_cast<float>(sample.response_ids.size()));
    CHECK(sample.reference_logprobs.size() == sample.response_ids.size());
  }
  auto trained = TrainStage(context, 4, *samples, {});
  REQUIRE(trained.ok());
  CHECK(trained->policy_version() == 4);
  std::multiset<uint64_t> ids(cluster.learner0.service.trained_ids.begin(),
                              cluster.learner0.service.trained_ids.end());
  ids.insert(cluster.learner1.service.trained_ids.begin(),
             cluster.learner1.service.trained_ids.end());
  CHECK(cluster.learner0.service.trained_ids.size() == 10);  // Each rank gets its half.
  CHECK(ids.size() == 20);
  for (uint64_t id = 0; id < 20; ++id) CHECK(ids.count(id) == 1);
}

TEST_CASE("a rollout replica that is gone is left out and its prompts served by the survivor") {
  Cluster cluster;
  cluster.rollout1.service.going_away = true;
  // The survivor answers only once the other replica has failed its call: otherwise, on a busy
  // machine, the survivor could take every range before the other's thread asks for one, and
  // the gone replica would never be tried.
  cluster.rollout0.service.hold_first_call = &cluster.rollout1.service.answered_unavailable;
  DispatchStats stats;
  auto samples = GenerateStage(cluster.Context(), Prompts(9), TwoSamples(), &stats);
  REQUIRE(samples.ok());
  REQUIRE(samples->size() == 18);
  for (size_t s = 0; s < samples->size(); ++s) CHECK((*samples)[s].sequence_id == s);
  CHECK(cluster.rollout0.service.calls.load() == 5);
  CHECK(cluster.rollout1.service.calls.load() >= 1);
  CHECK(cluster.registry.Active(rein::v1::ROLE_ROLLOUT).size() == 1);
}

TEST_CASE("when every rollout replica is gone the error names the replicas the run lost") {
  Cluster cluster;
  cluster.rollout0.server->Shutdown();
  cluster.rollout1.server->Shutdown();
  DispatchStats stats;
  auto first = GenerateStage(cluster.Context(), Prompts(4), TwoSamples(), &stats);
  REQUIRE_FALSE(first.ok());
  CHECK(first.status().code() == absl::StatusCode::kUnavailable);
  const std::string message(first.status().message());
  INFO(message);
  CHECK(message.find("2 tried, all failed; ") != std::string::npos);
  CHECK(message.find("on rollout-0 (") != std::string::npos);
  CHECK(message.find("on rollout-1 (") != std::string::npos);
  // Taken out of the run, they are named again by the next call.
  cluster.registry.Exclude("rollout-0");
  cluster.registry.Exclude("rollout-1");
  auto again = GenerateStage(cluster.Context(), Prompts(4), TwoSamples(), &stats);
  CHECK(again.status().code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(again.status().message())
            .find("no active ROLE_ROLLOUT worker: lost rollout-0 (") != std::string::npos);
}

TEST_CASE("a NaN reward fails the scoring stage and names the sequence") {
  Cluster cluster;
  cluster.reward.service.poison = true;
  DispatchStats generate_stats, reward_stats, reference_stats;
  auto samples = GenerateStage(cluster.Context(), Prompts(4), TwoSamples(), &generate_stats);
  REQUIRE(samples.ok());
  absl::Status status = ScoreStage(cluster.Context(), *samples, &reward_stats, &reference_stats);
  CHECK(status.code() == absl::StatusCode::kInternal);
  CHECK(std::string(status.message()).find("sequence 3") != std::string::npos);
}

TEST_CASE("a batch that does not split over the learner ranks is refused") {
  Cluster cluster;
  std::vector<Sample> odd(3);
  CHECK(TrainStage(cluster.Context(), 1, odd, {}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a checkpoint asks learner rank 0 alone and with a sharded optimizer every rank") {
  Cluster cluster;
  const std::string dir = testing::MakeTempDir("rein-stages-ckpt-") + "/learner";
  cluster.learner0.service.version = 3;
  auto saved = SaveCheckpointStage(cluster.Context(), dir);
  REQUIRE(saved.ok());
  CHECK(saved->step() == 3);
  CHECK(cluster.learner0.service.saved.size() == 1);
  CHECK(cluster.learner1.service.saved.empty());
  // Sharded (learner.zero_stage 1), saving is a collective of every rank; rank 0 answers.
  cluster.learner1.service.version = 5;
  saved = SaveCheckpointStage(cluster.Context(), dir, /*every_rank=*/true);
  REQUIRE(saved.ok());
  CHECK(saved->step() == 3);
  CHECK(cluster.learner0.service.saved.size() == 2);
  CHECK(cluster.learner1.service.saved == std::vector<std::string>{dir});
}

}  // namespace
}  // namespace rein::coordinator
