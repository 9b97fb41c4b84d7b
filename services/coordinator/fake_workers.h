// In-process fakes of the worker services, for coordinator tests over real gRPC on loopback:
// each is a small deterministic implementation of its service, so sharding, merging,
// validation and failover can be checked exactly.
#ifndef REIN_SERVICES_COORDINATOR_FAKE_WORKERS_H_
#define REIN_SERVICES_COORDINATOR_FAKE_WORKERS_H_

#include <prometheus/registry.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/rpc/server.h"
#include "rein/v1/learner.grpc.pb.h"
#include "rein/v1/reference.grpc.pb.h"
#include "rein/v1/reward.grpc.pb.h"
#include "rein/v1/rollout.grpc.pb.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

// Completion i of prompt p: the prompt's tokens followed by (i + 1); log-prob -0.5 per token.
class FakeRollout final : public rein::v1::Rollout::Service {
 public:
  grpc::Status Generate(grpc::ServerContext*, const rein::v1::GenerateRequest* request,
                        rein::v1::GenerateResponse* response) override {
    const int call = calls.fetch_add(1);
    if (going_away) {
      if (!unavailable_sent.exchange(true)) answered_unavailable.Notify();
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "replica is shutting down");
    }
    // Bounded: a test that sets the hold always releases it.
    if (call == 0 && hold_first_call != nullptr) {
      hold_first_call->WaitForNotificationWithTimeout(absl::Seconds(30));
    }
    if (policy_version.load() < request->min_policy_version()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "policy too old");
    }
    for (const auto& prompt : request->prompts()) {
      {
        absl::MutexLock lock(&mu);
        seeds.push_back(prompt.seed());
      }
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
    response->set_policy_version(policy_version.load());
    return grpc::Status::OK;
  }
  std::vector<uint64_t> Seeds() {
    absl::MutexLock lock(&mu);
    return seeds;
  }
  std::atomic<int> calls{0};
  // Every call answers UNAVAILABLE, as a replica shutting down does; the first notifies
  // answered_unavailable.
  std::atomic<bool> going_away{false};
  std::atomic<bool> unavailable_sent{false};
  absl::Notification answered_unavailable;
  // If set, the first call waits (at most 30 s) for it before answering.
  absl::Notification* hold_first_call = nullptr;
  // What LoadWeights would have installed; FakeLearner::PushWeights sets it.
  std::atomic<uint64_t> policy_version{7};
  absl::Mutex mu;
  std::vector<uint64_t> seeds;
};

// Reward = number of response tokens; `poison` makes sequence 3's reward NaN; `cost`, when set,
// is every sequence's cost (as from a cost model), plus `cost_per_token` per response token.
class FakeReward final : public rein::v1::Reward::Service {
 public:
  grpc::Status Score(grpc::ServerContext*, const rein::v1::ScoreRequest* request,
                     rein::v1::ScoreResponse* response) override {
    for (const auto& sequence : request->sequences()) {
      rein::v1::SequenceReward* reward = response->add_rewards();
      reward->set_sequence_id(sequence.sequence_id());
      bool nan = poison && sequence.sequence_id() == 3;
      reward->set_reward(nan ? std::nanf("") : static_cast<float>(sequence.response_ids_size()));
      if (cost.has_value()) {
        reward->set_cost(*cost + cost_per_token * static_cast<float>(sequence.response_ids_size()));
      }
    }
    return grpc::Status::OK;
  }
  bool poison = false;
  std::optional<float> cost;
  float cost_per_token = 0;
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
      lags.push_back(static_cast<int64_t>(version) -
                     static_cast<int64_t>(experience.policy_version()));
      trained_rewards.push_back({request->iteration(), experience.sequence().response_ids_size(),
                                 experience.reward()});
    }
    trained_examples += request->sft().examples_size() + request->preferences().preferences_size();
    version = request->iteration();
    response->set_policy_version(version);
    (*response->mutable_stats()->mutable_values())["kl/mean"] = 0.01;
    kl_coefs.push_back(request->overrides().kl_coef());
    return grpc::Status::OK;
  }
  grpc::Status PushWeights(grpc::ServerContext*, const rein::v1::PushWeightsRequest* request,
                           rein::v1::PushWeightsResponse* response) override {
    absl::MutexLock lock(&mu);
    pushes.emplace_back(request->rollout_addresses().begin(), request->rollout_addresses().end());
    for (FakeRollout* rollout : rollouts) rollout->policy_version = version;
    response->set_policy_version(version);
    return grpc::Status::OK;
  }
  // Writes `directory`/version holding the policy version.
  grpc::Status SaveCheckpoint(grpc::ServerContext*, const rein::v1::SaveCheckpointRequest* request,
                              rein::v1::SaveCheckpointResponse* response) override {
    absl::MutexLock lock(&mu);
    std::filesystem::create_directories(request->directory());
    std::ofstream(request->directory() + "/version") << version;
    saved.push_back(request->directory());
    response->set_directory(request->directory());
    response->set_step(version);
    return grpc::Status::OK;
  }
  absl::Mutex mu;
  uint64_t version = 0;
  int trained_examples = 0;
  std::vector<int64_t> lags;  // learner version before the step minus the sample's
  std::vector<FakeRollout*> rollouts;  // told the version on PushWeights
  std::vector<std::string> saved;
  std::vector<uint64_t> trained_ids;
  std::vector<double> kl_coefs;
  std::vector<std::vector<std::string>> pushes;
  struct TrainedReward {
    uint64_t iteration;
    int response_tokens;
    float reward;
  };
  std::vector<TrainedReward> trained_rewards;  // the reward of every experience trained on
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
    learner0.service.rollouts = {&rollout0.service, &rollout1.service};
  }
  StageContext Context() { return StageContext{&registry, &clients, absl::Seconds(30)}; }
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_FAKE_WORKERS_H_
