// The step functions on the golden tiny-llama: each mode learns what its toy batch teaches.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>

#include "services/learner/learner_state.h"
#include "services/learner/learner_test_util.h"
#include "services/learner/reward_model_step.h"
#include "services/learner/rl_step.h"
#include "services/learner/sft_step.h"

namespace rein::learner {
namespace {

using testing::kBad;
using testing::kGood;
using testing::kPrompt;
using testing::ResponseLogProb;
using testing::TinyOptions;

TEST_CASE("sft: the loss on a repeated batch goes down") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kSft);
  options.learner.micro_batch_size = 2;
  options.learner.gradient_accumulation = 2;
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  rein::v1::SftBatch batch;
  for (int i = 0; i < 5; ++i) {
    *batch.add_examples()->mutable_sequence() =
        testing::Sequence(i, {1, 2 + i}, {30 + i, 31 + i, 32 + i, 2});
  }
  REQUIRE(ValidateSftBatch(batch, {.vocab_size = 1000}).ok());
  double first = 0, last = 0;
  for (int step = 0; step < 15; ++step) {
    StepOutcome out = REIN_LEARNER_OK(SftStep(*state, batch));
    if (step == 0) first = out.stats.at("loss/sft");
    last = out.stats.at("loss/sft");
    CHECK(out.stats.at("optimizer_steps") == 2);  // 5 examples / (2 x 2) per step
    CHECK(std::isfinite(out.stats.at("grad_norm")));
    CHECK(out.stats.at("learning_rate") == Approx(1e-3));
  }
  INFO("first " << first << ", last " << last);
  CHECK(last < first - 1.0);
  CHECK(state->progress().optimizer_steps == 30);
}

rein::v1::Preference Pair(int i, bool tie = false, float margin = 0) {
  rein::v1::Preference p;
  p.add_prompt_ids(3 + i);
  p.add_prompt_ids(4 + i);
  *p.add_responses() = testing::Sequence(2 * i, {}, {100, 101, 100 + i % 3});
  *p.add_responses() = testing::Sequence(2 * i + 1, {}, {200, 201, 200 + i % 3});
  if (tie) p.add_tied_with_next(true);
  p.set_margin(margin);
  return p;
}

TEST_CASE("reward-model: accuracy reaches 1 on separable preferences") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kRewardModel);
  options.learner.micro_batch_size = 4;
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  REQUIRE(state->policy().has_scalar_head());
  REQUIRE_FALSE(state->policy().has_lm_head());
  rein::v1::PreferenceBatch batch;
  for (int i = 0; i < 6; ++i) *batch.add_preferences() = Pair(i, false, i == 0 ? 0.5f : 0.0f);
  // A ranking of three: good > middle > bad.
  rein::v1::Preference ranking;
  ranking.add_prompt_ids(9);
  *ranking.add_responses() = testing::Sequence(50, {}, {100, 101});
  *ranking.add_responses() = testing::Sequence(51, {}, {150, 151});
  *ranking.add_responses() = testing::Sequence(52, {}, {200, 201});
  *batch.add_preferences() = ranking;
  REQUIRE(ValidatePreferenceBatch(batch, {.vocab_size = 1000}).ok());
  double accuracy = 0, loss = 0;
  for (int step = 0; step < 40 && accuracy < 1.0; ++step) {
    StepOutcome out = REIN_LEARNER_OK(RewardModelStep(*state, batch));
    accuracy = out.stats.at("accuracy");
    loss = out.stats.at("loss/preference");
    REQUIRE(std::isfinite(loss));
  }
  INFO("loss " << loss);
  CHECK(accuracy == 1.0);
}

TEST_CASE("reward-model: ties and rankings with ties train") {
  auto state = REIN_LEARNER_OK(
      LearnerState::Create(TinyOptions(config::LearnerMode::kRewardModel)));
  rein::v1::PreferenceBatch batch;
  *batch.add_preferences() = Pair(0, /*tie=*/true);
  rein::v1::Preference ranking;
  ranking.add_prompt_ids(9);
  for (int k = 0; k < 4; ++k) *ranking.add_responses() = testing::Sequence(k, {}, {100 + k});
  for (bool t : {false, true, false}) ranking.add_tied_with_next(t);
  *batch.add_preferences() = ranking;
  REQUIRE(ValidatePreferenceBatch(batch, {.vocab_size = 1000}).ok());
  StepOutcome out = REIN_LEARNER_OK(RewardModelStep(*state, batch));
  CHECK(std::isfinite(out.stats.at("loss/preference")));
  CHECK(out.stats.at("accuracy") >= 0.0);
}

// Trains `mode` on the toy batch for a few iterations; returns how much log π(good) − log
// π(bad) grew.
double PreferenceGain(config::LearnerMode mode) {
  auto state = REIN_LEARNER_OK(LearnerState::Create(TinyOptions(mode)));
  auto gap = [&] {
    return ResponseLogProb(state->policy(), kPrompt, kGood) -
           ResponseLogProb(state->policy(), kPrompt, kBad);
  };
  const double before = gap();
  for (uint64_t it = 1; it <= 4; ++it) {
    rein::v1::TrainRequest request = testing::ToyExperienceRequest(state->policy(), it);
    REQUIRE(ValidateExperienceBatch(mode, request.experiences(), {.vocab_size = 1000}).ok());
    StepOutcome out = REIN_LEARNER_OK(RlStep(*state, request.experiences()));
    for (const char* name : {"reward/mean", "kl/mean", "entropy", "loss/policy",
                             "clip_fraction", "approx_kl", "grad_norm", "learning_rate",
                             "ppo/behaviour_logprob_diff"}) {
      INFO(name);
      REQUIRE(out.stats.count(name) == 1);
      CHECK(std::isfinite(out.stats.at(name)));
    }
    CHECK(out.stats.at("reward/mean") == Approx(0.5));
    // Behaviour log-probs came from these very weights.
    CHECK(out.stats.at("ppo/behaviour_logprob_diff") < 1e-4);
    CHECK(out.stats.at("optimizer_steps") == 4);  // 2 epochs x 2 minibatches
    if (mode == config::LearnerMode::kPpo) {
      CHECK(out.stats.count("loss/value") == 1);
      CHECK(out.stats.count("value/explained_variance") == 1);
    } else {
      CHECK(out.stats.count("loss/value") == 0);
    }
  }
  return gap() - before;
}

TEST_CASE("ppo: a step moves the policy toward the higher-reward response") {
  CHECK(PreferenceGain(config::LearnerMode::kPpo) > 0.5);
}

TEST_CASE("grpo, rloo and reinforce++ move the policy toward the higher-reward response") {
  for (config::LearnerMode mode : {config::LearnerMode::kGrpo, config::LearnerMode::kRloo,
                                   config::LearnerMode::kReinforcePlusPlus}) {
    INFO(config::EnumName(mode));
    CHECK(PreferenceGain(mode) > 0.5);
  }
}

TEST_CASE("ppo with the KL as a loss term and normalised rewards runs") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kPpo);
  options.ppo.kl_in_reward = false;
  options.ppo.normalize_rewards = true;
  options.ppo.reward_clip = 5;
  options.ppo.entropy_coef = 0.01;
  options.ppo.early_stop_kl = 1e-9;  // stops after the first minibatch
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  rein::v1::TrainRequest request = testing::ToyExperienceRequest(state->policy(), 1);
  StepOutcome first = REIN_LEARNER_OK(RlStep(*state, request.experiences()));
  request = testing::ToyExperienceRequest(state->policy(), 2);
  StepOutcome second = REIN_LEARNER_OK(RlStep(*state, request.experiences()));
  CHECK(std::isfinite(second.stats.at("loss/policy")));
  CHECK(second.stats.at("ppo/early_stopped") == 1.0);
  CHECK(second.stats.at("optimizer_steps") < 4);
  const rl::RewardNormalizer* normalizer = state->reward_normalizer();
  REQUIRE(normalizer != nullptr);
  CHECK(normalizer->moments().count == 8);
  (void)first;
}

TEST_CASE("validation names the offending item") {
  const SequenceLimits limits{.vocab_size = 1000, .max_positions = 128};
  auto state = REIN_LEARNER_OK(LearnerState::Create(TinyOptions(config::LearnerMode::kPpo)));
  rein::v1::TrainRequest request = testing::ToyExperienceRequest(state->policy(), 1);
  auto check = [&](config::LearnerMode mode, const rein::v1::ExperienceBatch& batch,
                   const std::string& needle) {
    absl::Status s = ValidateExperienceBatch(mode, batch, limits);
    INFO(s.ToString());
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(s.message().find(needle) != absl::string_view::npos);
  };
  CHECK(ValidateExperienceBatch(config::LearnerMode::kPpo, request.experiences(), limits).ok());
  check(config::LearnerMode::kPpo, rein::v1::ExperienceBatch(), "empty batch");
  {
    rein::v1::ExperienceBatch b = request.experiences();
    b.mutable_experiences(1)->mutable_sequence()->set_response_ids(1, 1000);
    check(config::LearnerMode::kPpo, b, "experiences[1] (sequence_id 1): response_ids[1] = 1000");
  }
  {
    rein::v1::ExperienceBatch b = request.experiences();
    b.mutable_experiences(2)->add_behaviour_logprobs(-1.0f);
    check(config::LearnerMode::kPpo, b, "experiences[2] (sequence_id 2): 4 behaviour_logprobs");
  }
  {
    rein::v1::ExperienceBatch b = request.experiences();
    b.mutable_experiences(3)->mutable_reference_logprobs()->RemoveLast();
    check(config::LearnerMode::kPpo, b, "experiences[3] (sequence_id 3): 2 reference_logprobs");
  }
  {
    rein::v1::ExperienceBatch b = request.experiences();
    b.mutable_experiences(0)->set_reward(std::nanf(""));
    check(config::LearnerMode::kPpo, b, "experiences[0] (sequence_id 0): reward nan");
  }
  {
    rein::v1::ExperienceBatch b = request.experiences();
    b.mutable_experiences(0)->mutable_sequence()->clear_prompt_ids();
    check(config::LearnerMode::kPpo, b, "experiences[0] (sequence_id 0): empty prompt_ids");
  }
  {
    rein::v1::ExperienceBatch b = request.experiences();
    b.mutable_experiences(3)->set_group_id(9);
    check(config::LearnerMode::kGrpo, b, "group_id");
  }
  rein::v1::SftBatch sft;
  CHECK(ValidateSftBatch(sft, limits).code() == absl::StatusCode::kInvalidArgument);
  rein::v1::PreferenceBatch prefs;
  auto* p = prefs.add_preferences();
  *p->add_responses() = testing::Sequence(0, {1}, {2});
  absl::Status one = ValidatePreferenceBatch(prefs, limits);
  CHECK(one.message().find("preferences[0]: 1 responses") != absl::string_view::npos);
}

}  // namespace
}  // namespace rein::learner
