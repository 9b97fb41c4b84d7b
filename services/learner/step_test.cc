// The step functions on the golden tiny-llama: each mode learns what its toy batch teaches.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "services/learner/learner_state.h"
#include "services/learner/learner_test_util.h"
#include "services/learner/model_forward.h"
#include "services/learner/packed_batch.h"
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

// One response for prompt i, judged on its own: approved ones start with 100, flagged with 200.
rein::v1::Preference Unpaired(int i, bool approved) {
  rein::v1::Preference p;
  p.add_prompt_ids(3 + i);
  const int32_t base = approved ? 100 : 200;
  *p.add_responses() = testing::Sequence(500 + i, {}, {base, base + 1, base + i % 3});
  return p;
}

// The reward model's score of each judgement's first response.
std::vector<double> Scores(LearnerState& state, const rein::v1::PreferenceBatch& batch) {
  std::vector<const TokenIds*> prompts, responses;
  for (const rein::v1::Preference& p : batch.preferences()) {
    prompts.push_back(&p.prompt_ids());
    responses.push_back(&p.responses(0).response_ids());
  }
  PackedBatch packed =
      REIN_LEARNER_OK(PackSequences(prompts, responses, state.policy().device()));
  const at::Tensor scores = REIN_LEARNER_OK(RunScores(state.policy(), packed))
                                .detach()
                                .to(at::kCPU, at::kDouble)
                                .contiguous();
  return std::vector<double>(scores.data_ptr<double>(),
                             scores.data_ptr<double>() + scores.numel());
}

TEST_CASE("reward-model: unpaired labels alone separate approved from flagged responses") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kRewardModel);
  options.learner.micro_batch_size = 4;
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  rein::v1::PreferenceBatch batch;
  std::vector<RewardJudgement> judgements;
  for (int i = 0; i < 8; ++i) *batch.add_preferences() = Unpaired(i, /*approved=*/i % 2 == 0);
  for (int i = 0; i < 8; ++i) judgements.push_back({&batch.preferences(i), i % 2 == 0});
  REQUIRE(ValidatePreferenceBatch(judgements, {.vocab_size = 1000}).ok());
  // Mean reward of the approved responses minus that of the flagged ones.
  auto separation = [&] {
    const std::vector<double> s = Scores(*state, batch);
    double gap = 0;
    for (size_t i = 0; i < s.size(); ++i) gap += (i % 2 == 0 ? s[i] : -s[i]) / 4;
    return gap;
  };
  const double before = separation();
  double first_loss = 0, loss = 0, accuracy = 0;
  for (int step = 0; step < 30; ++step) {
    StepOutcome out = REIN_LEARNER_OK(RewardModelStep(*state, judgements));
    if (step == 0) first_loss = out.stats.at("loss/unpaired");
    loss = out.stats.at("loss/unpaired");
    accuracy = out.stats.at("accuracy/unpaired");
    CHECK(out.stats.at("loss/preference") == Approx(loss));  // nothing else in the batch
    CHECK(out.stats.count("accuracy") == 0);                  // no pair to order
    CHECK(out.stats.at("optimizer_steps") == 2);              // 8 responses / 4 per step
  }
  const double after = separation();
  INFO("separation " << before << " -> " << after << ", loss " << first_loss << " -> " << loss);
  CHECK(after > 1.0);
  CHECK(after > before + 1.0);
  CHECK(loss < first_loss);
  CHECK(accuracy == 1.0);
  // Approved rewards end positive and flagged ones negative: σ(r) is P(approved).
  const std::vector<double> s = Scores(*state, batch);
  for (size_t i = 0; i < s.size(); ++i) CHECK((s[i] > 0) == (i % 2 == 0));
}

TEST_CASE("reward-model: a mixed batch's loss is the mean of its judgements' terms") {
  rein::v1::PreferenceBatch batch;
  for (int i = 0; i < 3; ++i) *batch.add_preferences() = Pair(i);
  for (int i = 0; i < 2; ++i) *batch.add_preferences() = Unpaired(i, i == 0);
  std::vector<RewardJudgement> mixed, pairs, unpaired;
  for (int i = 0; i < 5; ++i) {
    const RewardJudgement j{&batch.preferences(i),
                            i < 3 ? std::nullopt : std::optional<bool>(i == 3)};
    mixed.push_back(j);
    (i < 3 ? pairs : unpaired).push_back(j);
  }
  REQUIRE(ValidatePreferenceBatch(mixed, {.vocab_size = 1000}).ok());
  // Fresh states start from the same weights, so the three runs' losses are comparable.
  LearnerOptions options = TinyOptions(config::LearnerMode::kRewardModel);
  // Micro-batches [pair], [pair], [pair, unpaired], [unpaired] in one optimizer step: the kinds
  // share micro-batches, and every loss is taken before the update.
  options.learner.micro_batch_size = 3;
  options.learner.gradient_accumulation = 8;
  auto run = [&](const std::vector<RewardJudgement>& j) {
    auto state = REIN_LEARNER_OK(LearnerState::Create(options));
    return REIN_LEARNER_OK(RewardModelStep(*state, j)).stats;
  };
  const auto m = run(mixed), p = run(pairs), u = run(unpaired);
  CHECK(m.at("loss/preference") ==
        Approx((3 * p.at("loss/preference") + 2 * u.at("loss/preference")) / 5));
  CHECK(m.at("loss/unpaired") == Approx(u.at("loss/unpaired")));
  CHECK(m.at("accuracy/unpaired") == u.at("accuracy/unpaired"));
  CHECK(m.at("accuracy") == p.at("accuracy"));
  CHECK(p.count("loss/unpaired") == 0);
}

TEST_CASE("reward-model: unpaired judgements are validated") {
  const SequenceLimits limits{.vocab_size = 1000};
  rein::v1::Preference pair = Pair(0), one = Unpaired(0, true);
  CHECK(ValidatePreferenceBatch(std::vector<RewardJudgement>{{&one, true}}, limits).ok());
  absl::Status two = ValidatePreferenceBatch(std::vector<RewardJudgement>{{&pair, false}}, limits);
  CHECK(two.message().find("preferences[0]: an unpaired judgement has one response") !=
        absl::string_view::npos);
  rein::v1::Preference margin = one;
  margin.set_margin(0.5f);
  CHECK(ValidatePreferenceBatch(std::vector<RewardJudgement>{{&one, true}, {&margin, false}},
                                limits)
            .message()
            .find("preferences[1]: an unpaired judgement") != absl::string_view::npos);
  // Without a label a single response is still no comparison.
  CHECK(ValidatePreferenceBatch(std::vector<RewardJudgement>{{&one, std::nullopt}}, limits)
            .message()
            .find("1 responses") != absl::string_view::npos);
  one.mutable_responses(0)->set_response_ids(0, 5000);
  CHECK(ValidatePreferenceBatch(std::vector<RewardJudgement>{{&one, true}}, limits).code() ==
        absl::StatusCode::kInvalidArgument);
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

// Responses of 1 to 6 tokens after prompts of 2 and 4: rows that pad differently.
rein::v1::TrainRequest RaggedRequest(const model::CausalLM& policy) {
  rein::v1::TrainRequest request;
  request.set_iteration(1);
  const std::vector<std::vector<int32_t>> prompts = {{5, 6}, {8, 9, 10, 11}};
  const std::vector<std::vector<int32_t>> responses = {{10}, {20, 21, 22}, {30, 31, 32, 33, 34, 35},
                                                       {40, 41}};
  uint64_t id = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (size_t r = 0; r < responses.size(); ++r) {
      *request.mutable_experiences()->add_experiences() = testing::MakeExperience(
          policy, id++, prompts[p], responses[r], static_cast<float>(r % 2), p + 1);
    }
  }
  return request;
}

TEST_CASE("ppo and grpo: packed and padded steps agree on ragged responses") {
  for (config::LearnerMode mode : {config::LearnerMode::kPpo, config::LearnerMode::kGrpo}) {
    INFO(config::EnumName(mode));
    std::vector<std::vector<at::Tensor>> trained;
    std::vector<StepOutcome> outcomes;
    for (bool pack : {true, false}) {
      LearnerOptions options = TinyOptions(mode);
      options.model.sequence_packing = pack;
      auto state = REIN_LEARNER_OK(LearnerState::Create(options));
      const rein::v1::TrainRequest request = RaggedRequest(state->policy());
      outcomes.push_back(REIN_LEARNER_OK(RlStep(*state, request.experiences())));
      trained.push_back(testing::Snapshot(state->policy()));
    }
    auto start = REIN_LEARNER_OK(LearnerState::Create(TinyOptions(mode)));
    const std::vector<at::Tensor> before = testing::Snapshot(start->policy());
    double moved = 0, apart = 0;
    for (size_t k = 0; k < before.size(); ++k) {
      moved = std::max(moved, trained[0][k].sub(before[k]).abs().max().item<double>());
      apart = std::max(apart, trained[0][k].sub(trained[1][k]).abs().max().item<double>());
    }
    INFO("largest step " << moved << ", largest packed/padded gap " << apart);
    CHECK(moved > 1e-4);
    // Float rounding in the forward, which AdamW's normalisation amplifies on near-zero
    // gradients over the Train's four steps (as between data-parallel ranks).
    CHECK(apart < 1e-2 * moved);
    for (const char* name : {"loss/policy", "kl/mean", "entropy", "grad_norm",
                             "ppo/behaviour_logprob_diff"}) {
      INFO(name);
      CHECK(outcomes[0].stats.at(name) == Approx(outcomes[1].stats.at(name)).margin(1e-5));
    }
    if (mode == config::LearnerMode::kPpo) {
      CHECK(outcomes[0].stats.at("loss/value") ==
            Approx(outcomes[1].stats.at("loss/value")).margin(1e-5));
    }
  }
}

// One PPO step from a fresh tiny policy on `request` built by `make` from that policy.
struct OneStep {
  StepOutcome outcome;
  std::vector<at::Tensor> weights;
};
OneStep StepWith(const LearnerOptions& options,
                 const std::function<rein::v1::TrainRequest(const model::CausalLM&)>& make) {
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  const rein::v1::TrainRequest request = make(state->policy());
  OneStep out{REIN_LEARNER_OK(RlStep(*state, request.experiences())), {}};
  out.weights = testing::Snapshot(state->policy());
  return out;
}

double LargestGap(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double gap = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    gap = std::max(gap, a[k].sub(b[k]).abs().max().item<double>());
  }
  return gap;
}

TEST_CASE("old log-probs are the rollout's when exact and recomputed otherwise") {
  const LearnerOptions options = TinyOptions(config::LearnerMode::kPpo);
  auto toy = [](const model::CausalLM& policy) {
    return testing::ToyExperienceRequest(policy, 1);
  };
  // Sampled by the current version (0) at temperature 1: the rollout's log-probs are used.
  const OneStep reused = StepWith(options, toy);
  CHECK(reused.outcome.stats.at("ppo/old_logprobs_recomputed") == 0);
  CHECK(reused.outcome.stats.at("ppo/behaviour_logprob_diff") < 1e-4);
  LearnerOptions always = options;
  always.ppo.reuse_behaviour_logprobs = false;
  const OneStep recomputed = StepWith(always, toy);
  CHECK(recomputed.outcome.stats.at("ppo/old_logprobs_recomputed") == 1);
  auto start = REIN_LEARNER_OK(LearnerState::Create(options));
  const double moved = LargestGap(recomputed.weights, testing::Snapshot(start->policy()));
  CHECK(moved > 1e-4);
  CHECK(LargestGap(reused.weights, recomputed.weights) < 1e-2 * moved);

  SECTION("reused log-probs are the rollout's, and their difference is still reported") {
    auto shifted = [&](const model::CausalLM& policy) {
      rein::v1::TrainRequest request = toy(policy);
      for (auto& e : *request.mutable_experiences()->mutable_experiences()) {
        for (float& lp : *e.mutable_behaviour_logprobs()) lp -= 0.05f;
      }
      return request;
    };
    const OneStep off = StepWith(options, shifted);
    CHECK(off.outcome.stats.at("ppo/old_logprobs_recomputed") == 0);
    CHECK(off.outcome.stats.at("ppo/behaviour_logprob_diff") == Approx(0.05).margin(1e-4));
    CHECK(LargestGap(off.weights, recomputed.weights) > 1e-2 * moved);  // they were used
  }
  SECTION("another version, tempered or truncated sampling, or the switch off: recomputed") {
    auto stale = [](const model::CausalLM& policy) {
      rein::v1::TrainRequest request = testing::ToyExperienceRequest(policy, 1);
      request.mutable_experiences()->mutable_experiences(0)->set_policy_version(3);
      return request;
    };
    CHECK(StepWith(options, stale).outcome.stats.at("ppo/old_logprobs_recomputed") == 1);
    LearnerOptions tempered = options;
    tempered.sampling.temperature = 0.7;
    CHECK(StepWith(tempered, toy).outcome.stats.at("ppo/old_logprobs_recomputed") == 1);
    LearnerOptions top_k = options;
    top_k.sampling.top_k = 50;
    CHECK(StepWith(top_k, toy).outcome.stats.at("ppo/old_logprobs_recomputed") == 1);
  }
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
