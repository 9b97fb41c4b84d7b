// The learner section of the scale benchmark (sections.h).
#include "services/learner/learner.h"

#include <prometheus/registry.h>

#include <cmath>
#include <iostream>
#include <random>

#include "common/model/causal_lm.h"
#include "common/status/status_macros.h"
#include "tools/bench_scale/model_facts.h"
#include "tools/bench_scale/sections.h"
#include "tools/bench_scale/timing.h"

namespace rein::bench_scale {
namespace {

config::DType ConfigDtype(at::ScalarType dtype) {
  if (dtype == at::kBFloat16) return config::DType::kBF16;
  if (dtype == at::kHalf) return config::DType::kF16;
  return config::DType::kF32;
}

// A GRPO batch of random tokens: `samples` rows in groups of group_size (one prompt each), the
// behaviour and reference log-probs those of a uniform distribution over the vocabulary (what
// a random model gives), rewards alternating 1 and 0 within a group, all drawn by `version`.
rein::v1::TrainRequest RandomGrpoRequest(const LearnerStepOptions& o, int64_t vocab,
                                         uint64_t iteration, uint64_t version, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(vocab - 1));
  const float uniform_logprob = -std::log(static_cast<float>(vocab));
  rein::v1::TrainRequest request;
  request.set_iteration(iteration);
  std::vector<int32_t> prompt(static_cast<size_t>(o.prompt_tokens));
  for (int64_t i = 0; i < o.samples; ++i) {
    if (i % o.group_size == 0) {
      for (int32_t& t : prompt) t = token(rng);
    }
    rein::v1::Experience* e = request.mutable_experiences()->add_experiences();
    e->mutable_sequence()->set_sequence_id(static_cast<uint64_t>(i));
    e->mutable_sequence()->mutable_prompt_ids()->Add(prompt.begin(), prompt.end());
    for (int64_t t = 0; t < o.response_tokens; ++t) {
      e->mutable_sequence()->add_response_ids(token(rng));
      e->add_behaviour_logprobs(uniform_logprob);
      e->add_reference_logprobs(uniform_logprob);
    }
    e->set_reward(static_cast<float>(i % 2));
    e->set_policy_version(version);
    e->set_group_id(static_cast<uint64_t>(i / o.group_size + 1));
  }
  return request;
}

}  // namespace

absl::StatusOr<LearnerStepResult> MeasureLearnerStep(const LearnerStepOptions& o) {
  learner::LearnerOptions options;
  options.learner.mode = config::LearnerMode::kGrpo;
  options.learner.micro_batch_size = static_cast<int32_t>(o.micro_batch_size);
  options.model.policy = o.checkpoint;
  options.model.dtype = ConfigDtype(o.dtype);
  ASSIGN_OR_RETURN(std::unique_ptr<learner::LearnerState> state,
                   learner::LearnerState::Create(options));
  const int64_t vocab = state->policy().config().vocab_size;
  const int64_t matmul_parameters = MatmulParameters(state->policy());
  const int64_t parameters = [&] {
    int64_t n = 0;
    for (const at::Tensor& p : state->policy().Parameters()) n += p.numel();
    return n;
  }();
  prometheus::Registry registry;
  ASSIGN_OR_RETURN(std::unique_ptr<learner::Learner> learner,
                   learner::Learner::Create(std::move(state), registry));
  std::mt19937 rng(7);
  std::vector<double> seconds;
  rein::v1::TrainResponse last;
  for (int r = 0; r <= o.repeats; ++r) {  // r == 0: the warm-up
    std::cerr << "[bench_scale] GRPO Train " << r << (r == 0 ? " (warm-up)" : "") << "\n";
    const rein::v1::TrainRequest request =
        RandomGrpoRequest(o, vocab, static_cast<uint64_t>(r + 1), learner->policy_version(), rng);
    absl::StatusOr<rein::v1::TrainResponse> trained;
    const double s = Seconds([&] { trained = learner->Train(request); });
    RETURN_IF_ERROR(trained.status());
    if (r > 0) seconds.push_back(s);
    last = *std::move(trained);
  }
  const auto& stats = last.stats().values();
  const auto stat = [&](const std::string& key) {
    auto it = stats.find(key);
    return it == stats.end() ? 0.0 : it->second;
  };
  // Every token of every row goes through the trunk and (packed) the LM head once per update
  // pass: 1 epoch x 1 minibatch at the config's defaults; a π_old recompute adds a forward.
  const double tokens = static_cast<double>(o.samples * (o.prompt_tokens + o.response_tokens));
  const bool recomputed = stat("ppo/old_logprobs_recomputed") > 0;
  const double flops =
      (6.0 + (recomputed ? 2.0 : 0.0)) * static_cast<double>(matmul_parameters) * tokens;
  const double flops_per_s = flops / Best(seconds);
  LearnerStepResult result;
  result.report = {{"mode", "grpo"},
                   {"dtype", DtypeName(o.dtype)},
                   {"parameters", parameters},
                   {"matmul_parameters", matmul_parameters},
                   {"samples", o.samples},
                   {"group_size", o.group_size},
                   {"prompt_tokens", o.prompt_tokens},
                   {"response_tokens", o.response_tokens},
                   {"micro_batch_size", o.micro_batch_size},
                   {"tokens_per_update_pass", tokens},
                   {"old_logprobs_recomputed", recomputed},
                   {"optimizer_steps_per_train", stat("optimizer_steps")},
                   {"flops_per_train", flops},
                   {"flop_count",
                    "6 x matmul parameters x tokens (forward + backward, LM head included; "
                    "attention scores, norms, loss and optimizer not counted), + 2 x ... when "
                    "π_old is recomputed; the reference's log-probs come from the reference "
                    "service, not the learner"},
                   {"train_seconds", seconds},
                   {"train_seconds_best", Best(seconds)},
                   {"flops_per_s", flops_per_s},
                   {"matmul_peak_flops_per_s", o.matmul_peak_flops_per_s},
                   {"ratio_to_matmul_peak", flops_per_s / o.matmul_peak_flops_per_s},
                   {"target_ratio_to_matmul_peak", 0.5}};
  std::cerr << "[bench_scale]   " << flops_per_s / 1e9 << " GFLOP/s vs peak "
            << o.matmul_peak_flops_per_s / 1e9 << " GFLOP/s\n";
  const double snapshot_s = Seconds([&] {
    absl::StatusOr<std::shared_ptr<const learner::Learner::WeightsSnapshot>> snapshot =
        learner->SnapshotWeights();
    if (snapshot.ok()) result.weights = (*snapshot)->tensors;
  });
  if (result.weights.empty()) return absl::InternalError("the learner gave no weights");
  result.snapshot_seconds = snapshot_s;
  result.report["weight_snapshot_seconds"] = snapshot_s;
  return result;
}

}  // namespace rein::bench_scale
