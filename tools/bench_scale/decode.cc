// The decode section of the scale benchmark (sections.h).
#include <ATen/ops/arange.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include <iostream>

#include "common/model/causal_lm.h"
#include "common/model/generator.h"
#include "common/status/status_macros.h"
#include "tools/bench_scale/model_facts.h"
#include "tools/bench_scale/sections.h"
#include "tools/bench_scale/timing.h"

namespace rein::bench_scale {
namespace {

const at::TensorOptions kIds = at::TensorOptions().dtype(at::kLong);

// Seconds of each timed run of `steps` single-token steps of `batch` rows after a prefill of
// `prompt` positions (the prefill once, untimed: every run starts from the same cache lengths).
absl::StatusOr<std::vector<double>> TimeDecodeSteps(const model::CausalLM& lm, int64_t batch,
                                                    int64_t prompt, int64_t steps, int runs) {
  c10::InferenceMode inference;
  ASSIGN_OR_RETURN(std::unique_ptr<model::KvCache> cache, lm.NewKvCache(batch, prompt + steps));
  model::CachedBatch prefill{
      .input_ids = at::randint(0, lm.config().vocab_size, {batch, prompt}, kIds),
      .position_ids = at::arange(prompt, kIds).expand({batch, prompt}),
      .cache_lengths = at::zeros({batch}, kIds)};
  ASSIGN_OR_RETURN(at::Tensor hidden, lm.HiddenCached(prefill, *cache));
  std::vector<model::CachedBatch> inputs;
  for (int64_t s = 0; s < steps; ++s) {
    inputs.push_back({.input_ids = at::ones({batch, 1}, kIds),
                      .position_ids = at::full({batch, 1}, prompt + s, kIds),
                      .cache_lengths = at::full({batch}, prompt + s, kIds)});
  }
  std::vector<double> seconds;
  absl::Status status;
  auto run = [&] {
    for (const model::CachedBatch& step : inputs) {
      absl::StatusOr<at::Tensor> h = lm.HiddenCached(step, *cache);
      absl::StatusOr<at::Tensor> logits = h.ok() ? lm.LmLogits(h->view({batch, -1})) : h.status();
      if (!logits.ok()) status.Update(logits.status());
    }
  };
  run();  // Warm-up.
  for (int r = 0; r < runs && status.ok(); ++r) seconds.push_back(Seconds(run));
  RETURN_IF_ERROR(status);
  return seconds;
}

// Seconds of each timed Generate of `batch` requests, `new_tokens` each, after one warm-up.
absl::StatusOr<std::vector<double>> TimeGenerate(const model::CausalLM& lm, int64_t batch,
                                                 int64_t prompt, int64_t new_tokens, int runs) {
  ASSIGN_OR_RETURN(std::unique_ptr<model::Generator> generator,
                   model::Generator::Create(lm, {.max_batch_size = batch,
                                                 .max_sequence_length = prompt + new_tokens,
                                                 .use_kv_cache = true}));
  const at::Tensor prompts = at::randint(0, lm.config().vocab_size, {batch, prompt}, kIds);
  std::vector<model::GenerationRequest> requests;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t* row = prompts[b].data_ptr<int64_t>();
    requests.push_back({std::vector<int64_t>(row, row + prompt), static_cast<uint64_t>(b)});
  }
  const model::GenerateOptions generate{.max_new_tokens = new_tokens, .stop_at_eos = false};
  absl::Status status;
  auto run = [&] { status.Update(generator->Generate(requests, generate).status()); };
  run();
  std::vector<double> seconds;
  for (int r = 0; r < runs && status.ok(); ++r) seconds.push_back(Seconds(run));
  RETURN_IF_ERROR(status);
  return seconds;
}

}  // namespace

absl::StatusOr<nlohmann::json> MeasureDecode(const DecodeOptions& o) {
  model::ModelOptions model_options;
  model_options.dtype = o.dtype;
  model_options.heads = model::Heads::kLm;
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> lm,
                   model::CausalLM::Load(o.checkpoint, model_options));
  const int64_t weight_bytes = WeightBytes(*lm);
  const int64_t matmul_parameters = MatmulParameters(*lm);
  const int64_t kv_per_position = KvBytesPerPosition(*lm);
  const int64_t steps = o.new_tokens - 1;
  // Mean positions a decode step attends to: prompt + 1 .. prompt + steps.
  const double mean_context = static_cast<double>(o.prompt_tokens) + (steps + 1) / 2.0;
  nlohmann::json report = {{"dtype", DtypeName(o.dtype)},
                           {"weight_bytes_per_step", weight_bytes},
                           {"matmul_parameters", matmul_parameters},
                           {"prompt_tokens", o.prompt_tokens},
                           {"new_tokens", o.new_tokens},
                           {"timed_steps", steps},
                           {"repeats", o.repeats},
                           {"target_ratio_to_roofline", 0.6},
                           {"results", nlohmann::json::array()}};
  for (int64_t batch : o.batch_sizes) {
    std::cerr << "[bench_scale] decode " << DtypeName(o.dtype) << " batch " << batch << "\n";
    ASSIGN_OR_RETURN(std::vector<double> step_s,
                     TimeDecodeSteps(*lm, batch, o.prompt_tokens, steps, o.repeats));
    ASSIGN_OR_RETURN(std::vector<double> generate_s,
                     TimeGenerate(*lm, batch, o.prompt_tokens, o.new_tokens, o.repeats));
    const double tokens_per_s = static_cast<double>(batch * steps) / Best(step_s);
    const double roofline = static_cast<double>(batch) * o.memcpy_traffic_bytes_per_s /
                            static_cast<double>(weight_bytes);
    const double kv_bytes = static_cast<double>(batch) * mean_context * kv_per_position;
    const double roofline_with_kv = static_cast<double>(batch) * o.memcpy_traffic_bytes_per_s /
                                    (static_cast<double>(weight_bytes) + kv_bytes);
    // 2 FLOPs per matmul parameter per token: where the matmuls, not the bytes, bound a step.
    const double compute_bound =
        o.matmul_peak_flops_per_s / (2.0 * static_cast<double>(matmul_parameters));
    report["results"].push_back(
        {{"batch", batch},
         {"decode_tokens_per_s", tokens_per_s},
         {"decode_median_tokens_per_s", static_cast<double>(batch * steps) / Median(step_s)},
         {"roofline_tokens_per_s", roofline},
         {"ratio_to_roofline", tokens_per_s / roofline},
         {"kv_bytes_per_step_mean", kv_bytes},
         {"roofline_with_kv_tokens_per_s", roofline_with_kv},
         {"compute_bound_tokens_per_s", compute_bound},
         {"ratio_to_min_of_roofline_and_compute_bound",
          tokens_per_s / std::min(roofline_with_kv, compute_bound)},
         {"generate_tokens_per_s", static_cast<double>(batch * o.new_tokens) / Best(generate_s)},
         {"decode_seconds", step_s},
         {"generate_seconds", generate_s}});
    std::cerr << "[bench_scale]   " << tokens_per_s << " tok/s, roofline " << roofline << " tok/s ("
              << tokens_per_s / roofline << "), compute bound " << compute_bound << " tok/s\n";
  }
  return report;
}

}  // namespace rein::bench_scale
