// dpo, ipo and kto steps on the golden tiny-llama: the first loss is the hand-worked value at
// policy = reference, training moves the policy towards the chosen (desirable) responses and
// away from the rejected ones, micro-batching leaves the update unchanged, and malformed
// batches are named.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "services/learner/learner_state.h"
#include "services/learner/learner_test_util.h"
#include "services/learner/offline_preference_step.h"

namespace rein::learner {
namespace {

using testing::kBad;
using testing::kGood;
using testing::kPrompt;
using testing::ResponseLogProb;
using testing::TinyOptions;

const std::vector<int32_t> kOtherPrompt = {8, 9};

// `pairs` copies of (kPrompt: kGood over kBad), reference log-probs from `reference`.
rein::v1::OfflinePreferenceBatch PairBatch(const model::CausalLM& reference, int pairs) {
  rein::v1::OfflinePreferenceBatch batch;
  for (int i = 0; i < pairs; ++i) {
    rein::v1::OfflinePreference* e = batch.add_examples();
    *e->add_responses() = testing::Sequence(2 * i, kPrompt, kGood);
    *e->add_responses() = testing::Sequence(2 * i + 1, kPrompt, kBad);
    e->add_reference_logprobs(ResponseLogProb(reference, kPrompt, kGood));
    e->add_reference_logprobs(ResponseLogProb(reference, kPrompt, kBad));
  }
  return batch;
}

// kGood desirable and kBad undesirable, alternating; each one's mismatched pair is the other
// completion under kOtherPrompt.
rein::v1::OfflinePreferenceBatch UnpairedBatch(const model::CausalLM& reference, int examples) {
  rein::v1::OfflinePreferenceBatch batch;
  for (int i = 0; i < examples; ++i) {
    const bool good = i % 2 == 0;
    const std::vector<int32_t>& response = good ? kGood : kBad;
    const std::vector<int32_t>& other = good ? kBad : kGood;
    rein::v1::OfflinePreference* e = batch.add_examples();
    *e->add_responses() = testing::Sequence(i, kPrompt, response);
    e->add_reference_logprobs(ResponseLogProb(reference, kPrompt, response));
    e->set_desirable(good);
    *e->mutable_kl_response() = testing::Sequence(100 + i, kOtherPrompt, other);
    e->set_kl_reference_logprob(ResponseLogProb(reference, kOtherPrompt, other));
  }
  return batch;
}

// log π(good) − log π(bad) after kPrompt.
double Gap(const model::CausalLM& policy) {
  return ResponseLogProb(policy, kPrompt, kGood) - ResponseLogProb(policy, kPrompt, kBad);
}

TEST_CASE("dpo: the loss starts at ln 2 and the policy learns the preference") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kDpo);
  options.dpo.beta = 0.5;
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  const double gap_before = Gap(state->policy());
  const rein::v1::OfflinePreferenceBatch batch = PairBatch(state->policy(), 4);
  REQUIRE(ValidateOfflinePreferenceBatch(config::LearnerMode::kDpo, batch, {.vocab_size = 1000}).ok());
  // micro_batch_size 2 sequences = 1 pair per micro-batch; one optimizer step per pair.
  StepOutcome first = REIN_LEARNER_OK(OfflinePreferenceStep(*state, batch));
  // The first micro-batch sees policy = reference: h = 0, −log σ(0) = ln 2; later steps of the
  // same Train see an updated policy, so the mean is below it.
  CHECK(first.stats.at("optimizer_steps") == 4);
  CHECK(first.stats.at("loss/dpo") < std::log(2.0) + 1e-6);
  CHECK(first.stats.at("loss/dpo") > 0.3);
  for (int i = 0; i < 10; ++i) REIN_LEARNER_OK(OfflinePreferenceStep(*state, batch));
  StepOutcome last = REIN_LEARNER_OK(OfflinePreferenceStep(*state, batch));
  INFO("gap before " << gap_before << ", after " << Gap(state->policy()));
  CHECK(Gap(state->policy()) > gap_before + 2.0);
  CHECK(last.stats.at("loss/dpo") < first.stats.at("loss/dpo") - 0.2);
  CHECK(last.stats.at("rewards/accuracy") == 1.0);
  CHECK(last.stats.at("rewards/margin") > 0.5);
  CHECK(last.stats.at("rewards/chosen") > last.stats.at("rewards/rejected"));
}

TEST_CASE("dpo: the first step's loss at policy = reference is ln 2 exactly") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kDpo);
  options.learner.micro_batch_size = 8;  // the whole batch in one step
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  StepOutcome out = REIN_LEARNER_OK(OfflinePreferenceStep(*state, PairBatch(state->policy(), 3)));
  CHECK(out.stats.at("optimizer_steps") == 1);
  CHECK(out.stats.at("loss/dpo") == Approx(std::log(2.0)).epsilon(1e-5));
  CHECK(out.stats.at("rewards/margin") == Approx(0.0).margin(1e-5));
}

TEST_CASE("ipo: the first loss is (1/(2 tau))^2 at policy = reference, then it falls") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kIpo);
  options.learner.micro_batch_size = 8;
  options.dpo.beta = 0.5;  // tau: (1/(2·0.5))² = 1
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  const double gap_before = Gap(state->policy());
  const rein::v1::OfflinePreferenceBatch batch = PairBatch(state->policy(), 2);
  StepOutcome first = REIN_LEARNER_OK(OfflinePreferenceStep(*state, batch));
  CHECK(first.stats.at("loss/ipo") == Approx(1.0).epsilon(1e-4));
  StepOutcome last;
  for (int i = 0; i < 15; ++i) last = REIN_LEARNER_OK(OfflinePreferenceStep(*state, batch));
  CHECK(last.stats.at("loss/ipo") < 0.5);
  CHECK(Gap(state->policy()) > gap_before);
}

TEST_CASE("kto: z0 starts at 0, the loss at 1/2, and desirable completions gain") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kKto);
  options.learner.micro_batch_size = 8;
  options.dpo.beta = 0.5;
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  const double good_before = ResponseLogProb(state->policy(), kPrompt, kGood);
  const double bad_before = ResponseLogProb(state->policy(), kPrompt, kBad);
  const rein::v1::OfflinePreferenceBatch batch = UnpairedBatch(state->policy(), 4);
  REQUIRE(ValidateOfflinePreferenceBatch(config::LearnerMode::kKto, batch, {.vocab_size = 1000}).ok());
  StepOutcome first = REIN_LEARNER_OK(OfflinePreferenceStep(*state, batch));
  // policy = reference everywhere: z0 = max(0, 0) and every l = 1 − σ(0) = ½.
  CHECK(first.stats.at("kto/z0") == Approx(0.0).margin(1e-5));
  CHECK(first.stats.at("loss/kto") == Approx(0.5).epsilon(1e-5));
  StepOutcome last;
  for (int i = 0; i < 15; ++i) last = REIN_LEARNER_OK(OfflinePreferenceStep(*state, batch));
  CHECK(last.stats.at("loss/kto") < first.stats.at("loss/kto") - 0.05);
  CHECK(ResponseLogProb(state->policy(), kPrompt, kGood) > good_before);
  CHECK(ResponseLogProb(state->policy(), kPrompt, kBad) < bad_before);
  CHECK(last.stats.at("rewards/desirable") > last.stats.at("rewards/undesirable"));
}

TEST_CASE("dpo: micro-batching leaves one optimizer step's gradient and update unchanged") {
  struct Trained {
    double grad_norm = 0;
    std::vector<at::Tensor> parameters;
  };
  auto train = [](int micro, int accumulation) {
    LearnerOptions options = TinyOptions(config::LearnerMode::kDpo);
    options.learner.micro_batch_size = micro;
    options.learner.gradient_accumulation = accumulation;
    auto state = REIN_LEARNER_OK(LearnerState::Create(options));
    StepOutcome out = REIN_LEARNER_OK(OfflinePreferenceStep(*state, PairBatch(state->policy(), 4)));
    REQUIRE(out.stats.at("optimizer_steps") == 1);
    return Trained{out.stats.at("grad_norm"), testing::Snapshot(state->policy())};
  };
  const Trained whole = train(8, 1);  // 4 pairs in one micro-batch
  const Trained split = train(2, 4);  // 1 pair each, 4 accumulated
  // The gradient norm (before clipping) catches a wrong normaliser, which Adam's scale-free
  // first step would hide in the parameters.
  CHECK(split.grad_norm == Approx(whole.grad_norm).epsilon(1e-4));
  REQUIRE(whole.parameters.size() == split.parameters.size());
  for (size_t i = 0; i < whole.parameters.size(); ++i) {
    const double scale = whole.parameters[i].abs().max().item<double>();
    const double diff = whole.parameters[i].sub(split.parameters[i]).abs().max().item<double>();
    INFO("parameter " << i << ": largest difference " << diff << " of values up to " << scale);
    CHECK(diff <= 1e-5 * std::max(1.0, scale));
  }
}

TEST_CASE("offline preference batches are validated, naming the example") {
  LearnerOptions options = TinyOptions(config::LearnerMode::kDpo);
  auto state = REIN_LEARNER_OK(LearnerState::Create(options));
  const SequenceLimits limits{.vocab_size = 1000};
  auto error = [&](config::LearnerMode mode, const rein::v1::OfflinePreferenceBatch& batch) {
    absl::Status status = ValidateOfflinePreferenceBatch(mode, batch, limits);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    return std::string(status.message());
  };
  CHECK_THAT(error(config::LearnerMode::kDpo, {}), Catch::Contains("empty batch"));
  rein::v1::OfflinePreferenceBatch pairs = PairBatch(state->policy(), 2);
  CHECK_THAT(error(config::LearnerMode::kKto, pairs),
             Catch::Contains("examples[0]") && Catch::Contains("kto needs 1 response(s), got 2"));
  rein::v1::OfflinePreferenceBatch bad = pairs;
  bad.mutable_examples(1)->set_reference_logprobs(0, 0.5);
  CHECK_THAT(error(config::LearnerMode::kDpo, bad),
             Catch::Contains("examples[1]") && Catch::Contains("reference_logprobs"));
  bad = pairs;
  bad.mutable_examples(1)->set_reference_logprobs(1, std::nan(""));
  CHECK_THAT(error(config::LearnerMode::kDpo, bad), Catch::Contains("reference_logprobs"));
  bad = pairs;
  bad.mutable_examples(0)->mutable_responses(1)->add_response_ids(5000);
  CHECK_THAT(error(config::LearnerMode::kDpo, bad), Catch::Contains("examples[0].responses[1]"));
  rein::v1::OfflinePreferenceBatch unpaired = UnpairedBatch(state->policy(), 2);
  unpaired.mutable_examples(1)->clear_kl_response();
  CHECK_THAT(error(config::LearnerMode::kKto, unpaired), Catch::Contains("examples[1].kl_response"));
}

}  // namespace
}  // namespace rein::learner
