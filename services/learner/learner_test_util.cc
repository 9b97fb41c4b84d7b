#include "services/learner/learner_test_util.h"

#include <ATen/ops/equal.h>

#include <catch2/catch.hpp>

#include "common/model/scoring.h"
#include "common/testing/subprocess.h"
#include "services/learner/rl_step.h"

namespace rein::learner::testing {

std::string TinyModelDir() { return rein::testing::SourcePath("tests/data/models/tiny-llama"); }

LearnerOptions TinyOptions(config::LearnerMode mode) {
  LearnerOptions o;
  o.learner.mode = mode;
  o.learner.learning_rate = 1e-3;
  o.learner.weight_decay = 0.0;
  o.learner.micro_batch_size = 2;
  o.learner.gradient_accumulation = 1;
  o.learner.critic_init = config::CriticInit::kPolicy;
  o.ppo.epochs = 2;
  o.ppo.minibatches = 2;
  o.ppo.reward_clip = 0;
  o.model.policy = TinyModelDir();
  o.seed = 7;
  o.iterations = 100;
  return o;
}

rein::v1::TokenSequence Sequence(uint64_t id, const std::vector<int32_t>& prompt,
                                 const std::vector<int32_t>& response) {
  rein::v1::TokenSequence s;
  s.set_sequence_id(id);
  s.mutable_prompt_ids()->Add(prompt.begin(), prompt.end());
  s.mutable_response_ids()->Add(response.begin(), response.end());
  return s;
}

namespace {

std::vector<float> ResponseLogProbs(const model::CausalLM& policy,
                                    const std::vector<int32_t>& prompt,
                                    const std::vector<int32_t>& response) {
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  ids.insert(ids.end(), response.begin(), response.end());
  auto scored = model::ScoreSequences(policy, {ids});
  REQUIRE(scored.ok());
  const std::vector<float>& all = (*scored)[0];
  return std::vector<float>(all.end() - static_cast<int64_t>(response.size()), all.end());
}

}  // namespace

double ResponseLogProb(const model::CausalLM& policy, const std::vector<int32_t>& prompt,
                       const std::vector<int32_t>& response) {
  double sum = 0;
  for (float lp : ResponseLogProbs(policy, prompt, response)) sum += lp;
  return sum;
}

rein::v1::Experience MakeExperience(const model::CausalLM& policy, uint64_t id,
                                    const std::vector<int32_t>& prompt,
                                    const std::vector<int32_t>& response, float reward,
                                    uint64_t group_id, uint64_t policy_version) {
  rein::v1::Experience e;
  *e.mutable_sequence() = Sequence(id, prompt, response);
  const std::vector<float> lp = ResponseLogProbs(policy, prompt, response);
  e.mutable_behaviour_logprobs()->Add(lp.begin(), lp.end());
  e.mutable_reference_logprobs()->Add(lp.begin(), lp.end());
  e.set_reward(reward);
  e.set_group_id(group_id);
  e.set_policy_version(policy_version);
  return e;
}

rein::v1::TrainRequest ToyExperienceRequest(const model::CausalLM& policy, uint64_t iteration,
                                            int pairs) {
  rein::v1::TrainRequest request;
  request.set_iteration(iteration);
  auto* batch = request.mutable_experiences();
  for (int p = 0; p < pairs; ++p) {
    *batch->add_experiences() = MakeExperience(policy, 2 * p, kPrompt, kGood, 1.0f, p + 1);
    *batch->add_experiences() = MakeExperience(policy, 2 * p + 1, kPrompt, kBad, 0.0f, p + 1);
  }
  return request;
}

std::vector<at::Tensor> Snapshot(const model::CausalLM& lm) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& p : lm.Parameters()) out.push_back(p.detach().clone());
  return out;
}

bool Identical(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!at::equal(a[i], b[i])) return false;
  }
  return true;
}

void TrainOnToyBatch(LearnerState& state, uint64_t iteration) {
  rein::v1::TrainRequest request = ToyExperienceRequest(state.policy(), iteration);
  REIN_LEARNER_OK(RlStep(state, request.experiences()));
  ++state.progress().policy_version;
  state.progress().last_iteration = iteration;
}

}  // namespace rein::learner::testing
