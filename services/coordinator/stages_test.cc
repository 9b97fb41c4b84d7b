// The iteration stages against in-process workers over real gRPC on loopback: each fake is a
// small, deterministic implementation of its service, so the coordinator's sharding, merging,
// validation and failover can be checked exactly.
#include "services/coordinator/stages.h"

#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <cmath>
#include <set>

#include "common/rpc/server.h"
#include "rein/v1/learner.grpc.pb.h"
#include "rein/v1/reference.grpc.pb.h"
#include "rein/v1/reward.grpc.pb.h"
#include "rein/v1/rollout.grpc.pb.h"

namespace rein::coordinator {
namespace {

// Completion i of prompt p: the prompt's tokens followed by (i + 1); log-prob -0.5 per token.
class FakeRollout final : public rein::v1::Rollout::Service {
 public:
  grpc::Status Generate(grpc::ServerContext*, const rein::v1::GenerateRequest* request,
                        rein::v1::GenerateResponse* response) override {
    calls.fetch_add(1);
    for (const auto& prompt : request->prompts()) {
      for (uint32_t i = 0; i < request->samples_per_prompt(); ++i) {
        rein::v1::Completion* completion = response->add_completions();
        completion->set_prompt_id(prompt.prompt_id());
        completion->set_sample_index(i);
        completion->mutable_token_ids()->Add(prompt.token_ids().begin(), prompt.token_ids().end());
        completion->add_token_ids(static_cast<int32_t>(i + 1));
        for (int t = 0; t < completion->token_ids_size(); ++t) completion->add_logprobs(-0.5f);
        completion->set_finish_reason(rein::v1::FINISH_REASON_EOS);
      }
    }
    response->set_policy_version(7);
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

// Reward = number of response tokens; `poison` makes sequence 3's reward NaN.
class FakeReward final : public rein::v1::Reward::Service {
 public:
  grpc::Status Score(grpc::ServerContext*, const rein::v1::ScoreRequest* request,
                     rein::v1::ScoreResponse* response) override {
    for (const auto& sequence : request->sequences()) {
      rein::v1::SequenceReward* reward = response->add_rewards();
      reward->set_sequence_id(sequence.sequence_id());
      bool nan = poison && sequence.sequence_id() == 3;
      reward->set_reward(nan ? std::nanf("") : static_cast<float>(sequence.response_ids_size()));
    }
    return grpc::Status::OK;
  }
  bool poison = false;
};

class FakeReference final : public rein::v1::Reference::Service {
 public:
  grpc::Status LogProbs(grpc::ServerContext*, const rein::v1::LogProbsRequest* request,
                        rein::v1::LogProbsResponse* response) override {
    for (const auto& sequence : request->sequences()) {
      auto* reply = response->add_sequences();
      reply->set_sequence_id(sequence.sequence_id());
      for (int t = 0; t < sequence.response_ids_size(); ++t) reply->add_logprobs(-1.0f);
    }
    return grpc::Status::OK;
  }
};

class FakeLearner final : public rein::v1::Learner::Service {
 public:
  grpc::Status Train(grpc::ServerContext*, const rein::v1::TrainRequest* request,
                     rein::v1::TrainResponse* response) override {
    absl::MutexLock lock(&mu);
    for (const auto& experience : request->experiences().experiences()) {
      trained_ids.push_back(experience.sequence().sequence_id());
    }
    response->set_policy_version(request->iteration());
    (*response->mutable_stats()->mutable_values())["kl/mean"] = 0.01;
    return grpc::Status::OK;
  }
  absl::Mutex mu;
  std::vector<uint64_t> trained_ids;
};

// One fake worker: a server on a free port, registered with the registry.
template <typename Service, typename Generated>
struct FakeWorker {
  prometheus::Registry metrics;
  Service service;
  std::unique_ptr<rpc::Server> server;

  void Start(WorkerRegistry& registry, const std::string& id, rein::v1::Role role, int capacity,
             int rank = 0) {
    server = *rpc::Server::Create({}, {rpc::Bind<Generated>(&service)}, metrics);
    rein::v1::RegisterRequest request;
    request.set_worker_id(id);
    request.set_role(role);
    request.set_address(server->address());
    request.set_capacity(static_cast<uint32_t>(capacity));
    request.set_rank(static_cast<uint32_t>(rank));
    REQUIRE(registry.Register(request).ok());
  }
};

struct Cluster {
  WorkerRegistry registry;
  WorkerClients clients{rpc::ClientOptions{}};
  FakeWorker<FakeRollout, rein::v1::Rollout> rollout0, rollout1;
  FakeWorker<FakeReward, rein::v1::Reward> reward;
  FakeWorker<FakeReference, rein::v1::Reference> reference;
  FakeWorker<FakeLearner, rein::v1::Learner> learner0, learner1;

  Cluster() {
    rollout0.Start(registry, "rollout-0", rein::v1::ROLE_ROLLOUT, 4);
    rollout1.Start(registry, "rollout-1", rein::v1::ROLE_ROLLOUT, 4);
    reward.Start(registry, "reward-0", rein::v1::ROLE_REWARD, 3);
    reference.Start(registry, "reference-0", rein::v1::ROLE_REFERENCE, 5);
    learner0.Start(registry, "learner-0", rein::v1::ROLE_LEARNER, 1, 0);
    learner1.Start(registry, "learner-1", rein::v1::ROLE_LEARNER, 1, 1);
  }
  StageContext Context() { return StageContext{&registry, &clients, absl::Seconds(30)}; }
};

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
  cluster.rollout1.server->Shutdown();  // Replica down before the iteration.
  DispatchStats stats;
  auto samples = GenerateStage(cluster.Context(), Prompts(9), TwoSamples(), &stats);
  REQUIRE(samples.ok());
  REQUIRE(samples->size() == 18);
  for (size_t s = 0; s < samples->size(); ++s) CHECK((*samples)[s].sequence_id == s);
  CHECK(cluster.rollout0.service.calls.load() == 5);
  CHECK(cluster.registry.Active(rein::v1::ROLE_ROLLOUT).size() == 1);
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

}  // namespace
}  // namespace rein::coordinator
