// Decode throughput of Generator against its floor, on a random ~10M-parameter Llama-style model
// (or Qwen3-0.6B's shape), on the CPU or a GPU.
//
// For each batch size B: B prompts of --prompt_tokens random ids generate --new_tokens tokens
// each (sampling at temperature 1 over the whole vocabulary, no EOS), with the KV cache and with
// full recompute. The floor of each is the same model's bare forward calls over the same shapes
// (one prefill + new_tokens - 1 single-token steps with a growing cache; or one full forward per
// step over the growing sequences), each followed by the LM head on the last positions, in a
// tight loop with no sampling or bookkeeping. After a warm-up, runs alternate floor / generator;
// the medians (and the best runs) are reported. Writes one JSON report to stdout (or --out).
//
//   decode_benchmark [--batch_sizes 1,8,32] [--prompt_tokens 32] [--new_tokens 64]
//                    [--repeats 3] [--recompute_repeats 1] [--threads 0] [--out FILE]
//                    [--device cpu|cuda] [--dtype float32|bfloat16] [--shape small|qwen3-0.6b]
#include <ATen/Parallel.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "common/bench/model_shapes.h"
#include "common/model/causal_lm.h"
#include "common/model/generator.h"
#include "common/model/internal/transformer.h"
#include "common/process/process_setup.h"

ABSL_FLAG(std::vector<std::string>, batch_sizes, std::vector<std::string>({"1", "8", "32"}),
          "Batch sizes to measure");
ABSL_FLAG(int64_t, prompt_tokens, 32, "Prompt length of every request");
ABSL_FLAG(int64_t, new_tokens, 64, "Tokens generated per request");
ABSL_FLAG(int, repeats, 3, "Timed runs of each KV-cache measurement (after one warm-up)");
ABSL_FLAG(int, recompute_repeats, 1,
          "Timed runs of each full-recompute measurement (after one warm-up)");
ABSL_FLAG(int, threads, 0, "LibTorch intra-op threads; 0 keeps LibTorch's default");
ABSL_FLAG(std::string, out, "", "Write the JSON report here instead of stdout");
ABSL_FLAG(std::string, device, "cpu", "cpu, or cuda (GPU 0) with a CUDA LibTorch");
ABSL_FLAG(std::string, dtype, "float32", "Weight dtype: float32 or bfloat16");
ABSL_FLAG(std::string, shape, "small",
          "small (~10M parameters, Llama-style) or qwen3-0.6b (Qwen3-0.6B's real config)");

namespace {

using Clock = std::chrono::steady_clock;
using rein::model::CausalLM;
using rein::model::internal::Transformer;

double Seconds(const std::function<void()>& fn) {
  const Clock::time_point start = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Bare cached forward calls: prefill [B, P], then N - 1 steps of [B, 1], LM head on the last
// positions; inputs made before timing.
std::function<void()> KvFloor(const CausalLM& lm, rein::model::KvCache& cache, int64_t batch,
                              int64_t prompt, int64_t steps) {
  const Transformer& impl = rein::model::internal::ModelAccess::Get(lm);
  const at::TensorOptions ids = at::TensorOptions().dtype(at::kLong).device(lm.device());
  const at::Tensor prompt_ids = at::randint(0, lm.config().vocab_size, {batch, prompt}, ids);
  const at::Tensor prompt_pos = at::arange(prompt, ids).expand({batch, prompt});
  const at::Tensor step_ids = at::ones({batch, 1}, ids);
  std::vector<at::Tensor> lengths;
  for (int64_t s = 0; s + 1 < steps; ++s) lengths.push_back(at::full({batch}, prompt + s, ids));
  return [&impl, &cache, batch, prompt, prompt_ids, prompt_pos, step_ids, lengths, ids] {
    c10::InferenceMode inference;
    rein::model::internal::CacheStep step;
    step.cache = &cache;
    step.cache_lengths = at::zeros({batch}, ids);
    at::Tensor hidden = impl.ForwardCached(prompt_ids, prompt_pos, step);
    at::Tensor logits = impl.LmLogits(hidden.select(1, prompt - 1));
    for (size_t s = 0; s < lengths.size(); ++s) {
      step.cache_lengths = lengths[s];
      step.max_cache_length = prompt + static_cast<int64_t>(s);
      hidden = impl.ForwardCached(step_ids, lengths[s].view({batch, 1}), step);
      logits = impl.LmLogits(hidden.view({batch, -1}));
    }
    logits.cpu();  // waits for a GPU's queued kernels (the generator reads its tokens back too)
  };
}

// Bare full forward calls over [B, P + s] for s < N, LM head on the last positions.
std::function<void()> RecomputeFloor(const CausalLM& lm, int64_t batch, int64_t prompt,
                                     int64_t steps) {
  const Transformer& impl = rein::model::internal::ModelAccess::Get(lm);
  const at::TensorOptions options = at::TensorOptions().dtype(at::kLong).device(lm.device());
  const at::Tensor ids = at::randint(0, lm.config().vocab_size, {batch, prompt + steps}, options);
  const at::Tensor mask = at::ones({batch, prompt + steps}, options);
  const at::Tensor pos = at::arange(prompt + steps, options).expand({batch, prompt + steps});
  return [&impl, batch, prompt, steps, ids, mask, pos] {
    c10::InferenceMode inference;
    at::Tensor logits;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = prompt + s;
      at::Tensor hidden =
          impl.Forward(ids.narrow(1, 0, t), pos.narrow(1, 0, t), mask.narrow(1, 0, t));
      logits = impl.LmLogits(hidden.select(1, t - 1));
    }
    logits.cpu();  // waits for a GPU's queued kernels
  };
}

nlohmann::json Measure(const std::string& mode, const std::function<void()>& floor,
                       const std::function<void()>& generate, int repeats, int64_t tokens) {
  floor();  // Warm-up.
  generate();
  std::vector<double> floor_s, generate_s;
  for (int r = 0; r < repeats; ++r) {
    floor_s.push_back(Seconds(floor));
    generate_s.push_back(Seconds(generate));
  }
  const double f = Median(floor_s), g = Median(generate_s);
  const double f_best = *std::min_element(floor_s.begin(), floor_s.end());
  const double g_best = *std::min_element(generate_s.begin(), generate_s.end());
  std::cerr << "  " << mode << ": generate " << tokens / g << " tok/s, floor " << tokens / f
            << " tok/s, ratio " << f / g << " (best runs: " << f_best / g_best << ")\n";
  return {{"generate_tokens_per_s", tokens / g},
          {"floor_tokens_per_s", tokens / f},
          {"ratio_to_floor", f / g},
          {"best_generate_tokens_per_s", tokens / g_best},
          {"best_floor_tokens_per_s", tokens / f_best},
          {"best_ratio_to_floor", f_best / g_best},
          {"generate_s", generate_s},
          {"floor_s", floor_s}};
}

}  // namespace

int main(int argc, char** argv) {
  rein::ParseFlags(argc, argv,
                   "decode_benchmark: decode throughput of Generator against its bare-forward floor.\n  decode_benchmark [--batch_sizes 1,8,32] [--prompt_tokens 32] [--new_tokens 64] [--out FILE]");
  if (absl::GetFlag(FLAGS_threads) > 0) at::set_num_threads(absl::GetFlag(FLAGS_threads));
  const int64_t prompt = absl::GetFlag(FLAGS_prompt_tokens);
  const int64_t steps = absl::GetFlag(FLAGS_new_tokens);
  const std::string shape = absl::GetFlag(FLAGS_shape);
  const std::optional<nlohmann::json> shape_config = rein::bench::ModelShape(shape);
  if (shape != "small" && shape != "qwen3-0.6b") {
    std::cerr << "decode_benchmark: --shape is small or qwen3-0.6b, not " << shape << "\n";
    return 2;
  }
  const nlohmann::json& config = *shape_config;
  const std::string dtype_name = absl::GetFlag(FLAGS_dtype);
  if (dtype_name != "float32" && dtype_name != "bfloat16") {
    std::cerr << "decode_benchmark: --dtype is float32 or bfloat16, not " << dtype_name << "\n";
    return 2;
  }
  rein::model::ModelOptions model_options;
  model_options.dtype = dtype_name == "float32" ? at::kFloat : at::kBFloat16;
  const std::string device = absl::GetFlag(FLAGS_device);
  if (device == "cuda") {
    model_options.device = c10::Device(c10::kCUDA, 0);
  } else if (device != "cpu") {
    std::cerr << "decode_benchmark: --device is cpu or cuda, not " << device << "\n";
    return 2;
  }
  auto lm = CausalLM::CreateRandom(config, /*seed=*/1, model_options);
  if (!lm.ok()) {
    std::cerr << "decode_benchmark: " << lm.status() << "\n";
    return 1;
  }
  const int64_t parameters = rein::model::internal::ModelAccess::Get(**lm).num_parameters();
  std::cerr << "decode_benchmark: " << parameters << " parameters, " << at::get_num_threads()
            << " threads\n";
  nlohmann::json report = {{"model", config},
                           {"device", device},
                           {"dtype", dtype_name},
                           {"parameters", parameters},
                           {"threads", at::get_num_threads()},
                           {"prompt_tokens", prompt},
                           {"new_tokens", steps},
                           {"sampling", "temperature 1, full vocabulary, no EOS"},
                           {"results", nlohmann::json::array()}};
  for (const std::string& text : absl::GetFlag(FLAGS_batch_sizes)) {
    const int64_t batch = std::stoll(text);
    std::cerr << "batch " << batch << "\n";
    std::vector<rein::model::GenerationRequest> requests;
    at::Tensor prompts =
        at::randint(0, config["vocab_size"].get<int64_t>(), {batch, prompt}, at::kLong);
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t* row = prompts[b].data_ptr<int64_t>();
      requests.push_back({std::vector<int64_t>(row, row + prompt), static_cast<uint64_t>(b)});
    }
    const rein::model::GenerateOptions options{.max_new_tokens = steps, .stop_at_eos = false};
    nlohmann::json entry = {{"batch", batch}};
    for (bool kv : {true, false}) {
      auto generator = rein::model::Generator::Create(
          **lm,
          {.max_batch_size = batch, .max_sequence_length = prompt + steps, .use_kv_cache = kv});
      auto cache = (*lm)->NewKvCache(batch, prompt + steps);
      if (!generator.ok() || !cache.ok()) {
        std::cerr << "decode_benchmark: cannot set up batch " << batch << "\n";
        return 1;
      }
      auto generate = [&] {
        auto results = (*generator)->Generate(requests, options);
        if (!results.ok()) std::cerr << "decode_benchmark: " << results.status() << "\n";
      };
      entry[kv ? "kv_cache" : "full_recompute"] =
          kv ? Measure("kv cache", KvFloor(**lm, **cache, batch, prompt, steps), generate,
                       absl::GetFlag(FLAGS_repeats), batch * steps)
             : Measure("full recompute", RecomputeFloor(**lm, batch, prompt, steps), generate,
                       absl::GetFlag(FLAGS_recompute_repeats), batch * steps);
    }
    report["results"].push_back(entry);
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::ofstream(out) << report.dump(2) << "\n";
  }
  return 0;
}
