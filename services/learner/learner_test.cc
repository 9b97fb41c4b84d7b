// The Learner's Train contract: versions, iterations, overrides and refusals that change nothing.
#include "services/learner/learner.h"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/testing/subprocess.h"
#include "services/learner/learner_test_util.h"

namespace rein::learner {
namespace {

std::unique_ptr<Learner> MakeLearner(config::LearnerMode mode, prometheus::Registry& registry) {
  auto state = REIN_LEARNER_OK(LearnerState::Create(testing::TinyOptions(mode)));
  return REIN_LEARNER_OK(Learner::Create(std::move(state), registry));
}

rein::v1::TrainRequest ToyRequest(Learner& learner, uint64_t iteration) {
  rein::v1::TrainRequest request;
  learner.InspectState([&](LearnerState& s) {
    request = testing::ToyExperienceRequest(s.policy(), iteration);
  });
  return request;
}

TEST_CASE("Train bumps the policy version and reports every stat") {
  prometheus::Registry registry;
  auto learner = MakeLearner(config::LearnerMode::kPpo, registry);
  rein::v1::TrainRequest request = ToyRequest(*learner, 1);
  request.mutable_overrides()->set_kl_coef(0.1);
  request.mutable_overrides()->set_learning_rate(2e-3);
  const rein::v1::TrainResponse reply = REIN_LEARNER_OK(learner->Train(request));
  CHECK(reply.policy_version() == 1);
  const auto& stats = reply.stats().values();
  for (const char* name :
       {"reward/mean", "kl/mean", "entropy", "loss/policy", "loss/value", "clip_fraction",
        "approx_kl", "grad_norm", "learning_rate", "value/explained_variance",
        "throughput/tokens_per_second", "time/train_seconds", "policy/lag_max",
        "ppo/behaviour_logprob_diff"}) {
    INFO(name);
    CHECK(stats.count(name) == 1);
  }
  CHECK(stats.at("learning_rate") == Approx(2e-3));
  CHECK(stats.at("policy/lag_max") == 0);  // made by version 0, trained into version 1
  // The PPO diagnostics are also the learner's gauges.
  std::map<std::string, double> gauges;
  for (const auto& family : registry.Collect()) {
    if (family.type == prometheus::MetricType::Gauge) gauges[family.name] = family.metric[0].gauge.value;
  }
  CHECK(gauges.at("rein_learner_last_clip_fraction") == stats.at("clip_fraction"));
  CHECK(gauges.at("rein_learner_last_entropy") == stats.at("entropy"));
  CHECK(gauges.at("rein_learner_last_value_loss") == stats.at("loss/value"));
  CHECK(gauges.at("rein_learner_last_grad_norm") == stats.at("grad_norm"));
  CHECK(gauges.at("rein_learner_last_approx_kl") == stats.at("approx_kl"));
  CHECK(gauges.at("rein_learner_last_entropy") > 0);
  learner->InspectState([](LearnerState& s) {
    CHECK(s.progress().kl_coef == 0.1);
    CHECK(s.progress().peak_learning_rate == 2e-3);
  });
  // Experience two versions old: lag 1 after this Train (version 2).
  rein::v1::TrainRequest second = ToyRequest(*learner, 2);
  CHECK(REIN_LEARNER_OK(learner->Train(second)).stats().values().at("policy/lag_max") == 1);
  CHECK(learner->policy_version() == 2);
}

TEST_CASE("refused Trains change nothing and the learner keeps training") {
  prometheus::Registry registry;
  auto learner = MakeLearner(config::LearnerMode::kPpo, registry);
  std::vector<at::Tensor> before;
  learner->InspectState([&](LearnerState& s) { before = testing::Snapshot(s.policy()); });

  rein::v1::TrainRequest malformed = ToyRequest(*learner, 1);
  malformed.mutable_experiences()->mutable_experiences(1)->add_behaviour_logprobs(0.0f);
  absl::Status s = learner->Train(malformed).status();
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message().find("experiences[1]") != absl::string_view::npos);

  rein::v1::TrainRequest wrong_kind;
  wrong_kind.set_iteration(1);
  wrong_kind.mutable_sft()->add_examples();
  s = learner->Train(wrong_kind).status();
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message().find("ppo trains on experiences") != absl::string_view::npos);

  rein::v1::TrainRequest bad_override = ToyRequest(*learner, 1);
  bad_override.mutable_overrides()->set_learning_rate(-1);
  CHECK(learner->Train(bad_override).status().code() == absl::StatusCode::kInvalidArgument);

  learner->InspectState([&](LearnerState& state) {
    CHECK(testing::Identical(before, testing::Snapshot(state.policy())));
    CHECK(state.progress().policy_version == 0);
    CHECK(state.progress().optimizer_steps == 0);
  });

  REIN_LEARNER_OK(learner->Train(ToyRequest(*learner, 1)));
  s = learner->Train(ToyRequest(*learner, 1)).status();
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(learner->Train(ToyRequest(*learner, 0)).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(REIN_LEARNER_OK(learner->Train(ToyRequest(*learner, 5))).policy_version() == 2);
  // A jump to the end of the iteration space would leave nothing to train on: refused.
  s = learner->Train(ToyRequest(*learner, UINT64_MAX)).status();
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message().find("jumps more than") != absl::string_view::npos);
  CHECK(REIN_LEARNER_OK(learner->Train(ToyRequest(*learner, 6))).policy_version() == 3);
}

TEST_CASE("a Train nobody waits for any more changes nothing") {
  prometheus::Registry registry;
  auto learner = MakeLearner(config::LearnerMode::kPpo, registry);
  std::vector<at::Tensor> before;
  learner->InspectState([&](LearnerState& s) { before = testing::Snapshot(s.policy()); });
  // Asked first when the Train holds the learner, then per no-grad micro-batch and once more
  // before the first update: stop at each of those points in turn.
  for (int stop_at : {1, 2, 3}) {
    INFO("stopped at check " << stop_at);
    int asked = 0;
    auto keep_going = [&]() -> absl::Status {
      return ++asked < stop_at ? absl::OkStatus() : absl::CancelledError("caller gone");
    };
    CHECK(learner->Train(ToyRequest(*learner, 1), keep_going).status().code() ==
          absl::StatusCode::kCancelled);
    CHECK(asked == stop_at);
    // Wherever it stopped, the Train changed nothing and counts as refused.
    CHECK(learner->metrics().train_rejected.Value() == stop_at);
    learner->InspectState([&](LearnerState& state) {
      CHECK(testing::Identical(before, testing::Snapshot(state.policy())));
      CHECK(state.progress().policy_version == 0);
      CHECK(state.progress().optimizer_steps == 0);
      CHECK(state.progress().last_iteration == 0);
    });
  }
  int asked = 0;
  auto waits = [&]() -> absl::Status {
    ++asked;
    return absl::OkStatus();
  };
  CHECK(REIN_LEARNER_OK(learner->Train(ToyRequest(*learner, 1), waits)).policy_version() == 1);
  CHECK(asked > 3);  // once at the start, per micro-batch (4 rows, 2 per micro-batch), once more
}

TEST_CASE("a stalled reader of the weights never blocks Train") {
  prometheus::Registry registry;
  auto learner = MakeLearner(config::LearnerMode::kPpo, registry);
  absl::Notification reading, release;
  std::vector<at::Tensor> streamed;
  uint64_t streamed_version = 99;
  std::thread reader([&] {
    CHECK(learner
              ->WithWeights([&](uint64_t version, absl::Span<const tensor::NamedTensor> tensors) {
                reading.Notify();
                release.WaitForNotification();  // a consumer that stopped reading
                streamed_version = version;
                for (const auto& [name, tensor] : tensors) streamed.push_back(tensor.clone());
                return absl::OkStatus();
              })
              .ok());
  });
  reading.WaitForNotification();
  std::vector<at::Tensor> before;
  learner->InspectState([&](LearnerState& s) {
    for (auto& [name, weight] : s.policy().NamedParameters()) before.push_back(weight.clone());
  });
  absl::Notification trained;
  std::thread trainer([&] {
    CHECK(learner->Train(ToyRequest(*learner, 1)).ok());
    trained.Notify();
  });
  // Before the fix the Train waited for the reader's lock for as long as the reader stalled.
  const bool train_went_on = trained.WaitForNotificationWithTimeout(absl::Seconds(60));
  release.Notify();
  reader.join();
  trainer.join();
  CHECK(train_went_on);
  // The stalled reader still gets the version it started with, whole and unchanged.
  CHECK(streamed_version == 0);
  CHECK(testing::Identical(before, streamed));
  CHECK(learner->policy_version() == 1);
}

TEST_CASE("sft and reward-model Trains over the Learner") {
  prometheus::Registry registry;
  auto sft = MakeLearner(config::LearnerMode::kSft, registry);
  rein::v1::TrainRequest request;
  request.set_iteration(1);
  *request.mutable_sft()->add_examples()->mutable_sequence() =
      testing::Sequence(0, {1, 2}, {3, 4, 2});
  const rein::v1::TrainResponse reply = REIN_LEARNER_OK(sft->Train(request));
  for (const char* name : {"loss/sft", "grad_norm", "learning_rate",
                           "throughput/tokens_per_second", "time/train_seconds"}) {
    INFO(name);
    CHECK(reply.stats().values().count(name) == 1);
  }

  prometheus::Registry rm_registry;
  auto rm = MakeLearner(config::LearnerMode::kRewardModel, rm_registry);
  rein::v1::TrainRequest prefs;
  prefs.set_iteration(1);
  auto* p = prefs.mutable_preferences()->add_preferences();
  p->add_prompt_ids(1);
  *p->add_responses() = testing::Sequence(0, {}, {5, 6});
  *p->add_responses() = testing::Sequence(1, {}, {7, 8});
  const rein::v1::TrainResponse rm_reply = REIN_LEARNER_OK(rm->Train(prefs));
  CHECK(rm_reply.stats().values().count("loss/preference") == 1);
  CHECK(rm_reply.stats().values().count("accuracy") == 1);
}

// What a run with rounds does to its reward-model learner after a restart.
TEST_CASE("Restore puts back a saved state whole, and a bad folder changes nothing") {
  prometheus::Registry registry;
  auto learner = MakeLearner(config::LearnerMode::kRewardModel, registry);
  auto preferences = [](uint64_t iteration) {
    rein::v1::TrainRequest request;
    request.set_iteration(iteration);
    auto* p = request.mutable_preferences()->add_preferences();
    p->add_prompt_ids(1);
    *p->add_responses() = testing::Sequence(0, {}, {5, 6});
    *p->add_responses() = testing::Sequence(1, {}, {7, 8});
    return request;
  };
  REIN_LEARNER_OK(learner->Train(preferences(1)));
  const std::string saved = rein::testing::MakeTempDir("rein-learner-restore-") + "/round-1";
  CHECK(REIN_LEARNER_OK(learner->SaveCheckpoint(saved)) == 1);
  std::vector<at::Tensor> at_save;
  learner->InspectState([&](LearnerState& s) { at_save = testing::Snapshot(s.policy()); });
  REIN_LEARNER_OK(learner->Train(preferences(2)));
  REIN_LEARNER_OK(learner->Train(preferences(3)));
  CHECK(learner->policy_version() == 3);

  CHECK_FALSE(learner->Restore("/nonexistent/checkpoint").ok());
  CHECK(learner->policy_version() == 3);
  const Learner::Restored restored = REIN_LEARNER_OK(learner->Restore(saved));
  CHECK(restored.step == 1);
  CHECK(restored.policy_version == 1);
  learner->InspectState([&](LearnerState& s) {
    CHECK(testing::Identical(testing::Snapshot(s.policy()), at_save));
  });
  // Training goes on from the restored step: iteration 2 is new again to it.
  CHECK(REIN_LEARNER_OK(learner->Train(preferences(2))).policy_version() == 2);
}

TEST_CASE("several learner ranks are accepted except in reward-model mode") {
  LearnerOptions options = testing::TinyOptions(config::LearnerMode::kPpo);
  options.learner.ranks = 2;
  CHECK(CheckLearnerOptions(options).ok());
  options.learner.mode = config::LearnerMode::kRewardModel;
  CHECK(CheckLearnerOptions(options).code() == absl::StatusCode::kUnimplemented);
  CHECK(LearnerState::Create(options).status().code() == absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace rein::learner
