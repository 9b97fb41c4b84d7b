// Shared by the learner's tests: options over the golden tiny-llama checkpoint, hand-made
// batches and parameter comparisons.
#ifndef REIN_SERVICES_LEARNER_LEARNER_TEST_UTIL_H_
#define REIN_SERVICES_LEARNER_LEARNER_TEST_UTIL_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"
#include "rein/v1/learner.pb.h"
#include "services/learner/learner_options.h"
#include "services/learner/learner_state.h"

namespace rein::learner::testing {

// tests/data/models/tiny-llama (vocabulary 1000, 2 layers, hidden 64).
std::string TinyModelDir();

// Options for `mode` over the tiny model: learning rate 1e-3, no weight decay, micro-batches
// of 2, ppo 2 epochs x 2 minibatches, critic from the policy, no reward clipping.
LearnerOptions TinyOptions(config::LearnerMode mode);

rein::v1::TokenSequence Sequence(uint64_t id, const std::vector<int32_t>& prompt,
                                 const std::vector<int32_t>& response);

// Sum of the policy's log-probs of `response` after `prompt`.
double ResponseLogProb(const model::CausalLM& policy, const std::vector<int32_t>& prompt,
                       const std::vector<int32_t>& response);

// One experience whose behaviour and reference log-probs are the policy's own.
rein::v1::Experience MakeExperience(const model::CausalLM& policy, uint64_t id,
                                    const std::vector<int32_t>& prompt,
                                    const std::vector<int32_t>& response, float reward,
                                    uint64_t group_id = 0, uint64_t policy_version = 0);

// Two responses to one prompt, the first rewarded 1 and the second 0, `pairs` times, each pair
// a group: the toy RL batch.
inline const std::vector<int32_t> kPrompt = {5, 6, 7};
inline const std::vector<int32_t> kGood = {10, 11, 12};
inline const std::vector<int32_t> kBad = {20, 21, 22};
rein::v1::TrainRequest ToyExperienceRequest(const model::CausalLM& policy, uint64_t iteration,
                                            int pairs = 2);

// One RlStep on ToyExperienceRequest(state.policy(), iteration), recorded as that iteration's
// Train (policy version and last iteration advanced).
void TrainOnToyBatch(LearnerState& state, uint64_t iteration);

// Flattened copies of every parameter.
std::vector<at::Tensor> Snapshot(const model::CausalLM& lm);
// True when every tensor is bitwise equal.
bool Identical(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b);


// The value of a StatusOr, failing the test (with the status) when it is an error.
#define REIN_LEARNER_OK(expr)                                      \
  ([&]() {                                                         \
    auto result_ = (expr);                                         \
    INFO(result_.status().ToString());                             \
    REQUIRE(result_.ok());                                         \
    return *std::move(result_);                                    \
  }())

}  // namespace rein::learner::testing

#endif  // REIN_SERVICES_LEARNER_LEARNER_TEST_UTIL_H_
