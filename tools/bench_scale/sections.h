// The scale benchmark's measurements, each against its limit from the same run (limits.h).
//
//   decode:  tokens/s of batched decode steps vs the memory-bandwidth roofline
//   learner: FLOP/s of a GRPO Train vs the matmul peak of its dtype
//   push:    the learner's weight push into a rollout service vs raw loopback TCP
//
// Each loads the checkpoint folder it is given (CausalLM::Load, as the services do) and returns
// its part of the JSON report; errors are the loaders' and services'.
#ifndef REIN_TOOLS_BENCH_SCALE_SECTIONS_H_
#define REIN_TOOLS_BENCH_SCALE_SECTIONS_H_

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor/chunking.h"

namespace rein::bench_scale {

struct DecodeOptions {
  std::string checkpoint;
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> batch_sizes = {1, 16, 64};
  int64_t prompt_tokens = 32;
  int64_t new_tokens = 32;
  int repeats = 2;                        // timed runs after one warm-up
  double memcpy_traffic_bytes_per_s = 0;  // the bandwidth limit (limits.h)
  double matmul_peak_flops_per_s = 0;     // of `dtype`, for the compute bound beside it
};

// Per batch size B: B prompts of prompt_tokens random ids are prefilled into a KV cache
// (untimed); then new_tokens - 1 single-token steps (CausalLM::HiddenCached + LmLogits, the
// calls the generator makes, without sampling) are timed: decode tokens/s = B x steps / time.
// Roofline = B x bandwidth / WeightBytes (every weight read once per step; KV-cache reads are
// reported beside it, not counted). Also: Generator::Generate end to end (prefill, sampling at
// temperature 1, no EOS) for B x new_tokens tokens.
absl::StatusOr<nlohmann::json> MeasureDecode(const DecodeOptions& options);

struct LearnerStepOptions {
  std::string checkpoint;
  at::ScalarType dtype = at::kFloat;  // the learner's weights (model.dtype)
  int64_t samples = 16;               // sequences per Train
  int64_t group_size = 4;             // GRPO group: samples of one prompt
  int64_t prompt_tokens = 32;
  int64_t response_tokens = 32;
  int64_t micro_batch_size = 4;        // learner.micro_batch_size (the config's default)
  int repeats = 2;                     // timed Trains after one warm-up
  double matmul_peak_flops_per_s = 0;  // of `dtype`
};

struct LearnerStepResult {
  nlohmann::json report;
  // The policy's weights after the last Train (Learner::SnapshotWeights), for the push.
  std::vector<tensor::NamedTensor> weights;
  double snapshot_seconds = 0;
};

// GRPO Trains through learner::Learner (ppo.* at the config's defaults: 1 epoch, 1 minibatch,
// the rollout's log-probs reused as π_old when exact) on random token batches.
// FLOPs = 6 x MatmulParameters x tokens per update pass (+ 2 x ... for a π_old recompute).
absl::StatusOr<LearnerStepResult> MeasureLearnerStep(const LearnerStepOptions& options);

struct PushOptions {
  std::string checkpoint;                        // the rollout replica's policy
  at::ScalarType rollout_dtype = at::kBFloat16;  // the replica's weights (model.dtype)
  int repeats = 2;                               // timed pushes after one warm-up
};

// learner::PushToReplicas (the learner service's push: 4 MiB chunks over gRPC) of `weights`
// into a RolloutService over loopback, which receives, checks and installs each version; and
// raw loopback TCP of the same bytes. Pushes the weights as they are and, when the replica holds
// another dtype, cast to it first (what the wire would carry if the learner sent the replica's
// dtype).
absl::StatusOr<nlohmann::json> MeasurePush(const PushOptions& options,
                                           std::vector<tensor::NamedTensor> weights);

}  // namespace rein::bench_scale

#endif  // REIN_TOOLS_BENCH_SCALE_SECTIONS_H_
