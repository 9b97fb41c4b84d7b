// rein-bench-scale: Rein's speed near the machine's limits on a real model shape, each figure
// against a limit measured in the same run (scripts/bench_scale.sh drives it):
//   limits   memcpy bandwidth; at::mm peak in float32 and bfloat16 on the learner step's shapes
//   decode   batched decode tokens/s vs the memory-bandwidth roofline (target >= 0.6)
//   learner  GRPO Train FLOP/s vs the matmul peak of its dtype (target >= 0.5)
//   push     the learner's weight push into a rollout service vs raw loopback TCP (>= 0.5x)
// The checkpoint (random weights, the shape's real config.json) is written first unless
// --checkpoint already holds one; every section loads it as the services would.
//
//   rein-bench-scale --checkpoint DIR [--shape qwen3-0.6b|small|tiny] [--out FILE]
//                    [--sections decode,learner,push] [--decode_batches 1,16,64] ...
#include <ATen/Parallel.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "common/bench/model_shapes.h"
#include "common/process/process_setup.h"
#include "common/status/status_macros.h"
#include "tools/bench_scale/limits.h"
#include "tools/bench_scale/model_facts.h"
#include "tools/bench_scale/sections.h"

ABSL_FLAG(std::string, checkpoint, "",
          "Checkpoint folder: used if it holds config.json, else "
          "written there with random weights (required)");
ABSL_FLAG(bool, write_checkpoint_only, false, "Write the checkpoint and exit");
ABSL_FLAG(std::string, shape, "qwen3-0.6b", "Model shape: qwen3-0.6b, small or tiny");
ABSL_FLAG(std::vector<std::string>, sections,
          std::vector<std::string>({"decode", "learner", "push"}),
          "What to measure besides the limits: decode, learner, push");
ABSL_FLAG(std::vector<std::string>, decode_batches, std::vector<std::string>({"1", "16", "64"}),
          "Decode batch sizes");
ABSL_FLAG(std::vector<std::string>, decode_dtypes,
          std::vector<std::string>({"bfloat16", "float32"}), "Weight dtypes to decode in");
ABSL_FLAG(int64_t, prompt_tokens, 32, "Prompt tokens per sequence (decode and learner)");
ABSL_FLAG(int64_t, new_tokens, 32, "Tokens generated per sequence (decode and learner)");
ABSL_FLAG(int, decode_repeats, 2, "Timed decode runs per batch size after one warm-up");
ABSL_FLAG(std::string, learner_dtype, "float32", "The learner's weight dtype");
ABSL_FLAG(int64_t, samples, 16, "GRPO sequences per Train");
ABSL_FLAG(int64_t, group_size, 4, "GRPO samples per prompt");
ABSL_FLAG(int64_t, micro_batch_size, 4, "learner.micro_batch_size");
ABSL_FLAG(int, learner_repeats, 2, "Timed Trains after one warm-up");
ABSL_FLAG(std::string, rollout_dtype, "bfloat16", "The rollout replica's weight dtype (push)");
ABSL_FLAG(int, push_repeats, 2, "Timed pushes (and TCP transfers) after one warm-up");
ABSL_FLAG(int64_t, memcpy_mib, 1024, "memcpy buffer size, MiB (far above the caches)");
ABSL_FLAG(int, limit_repeats, 5, "Timed memcpy runs and runs per matmul shape");
ABSL_FLAG(int, threads, 0, "LibTorch intra-op threads; 0 keeps LibTorch's default");
ABSL_FLAG(std::string, out, "", "Write the JSON report here instead of stdout");

namespace rein::bench_scale {
namespace {

absl::StatusOr<at::ScalarType> ParseDtype(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  return absl::InvalidArgumentError("dtype is float32 or bfloat16, not " + name);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

bool Selected(const std::string& section) {
  for (const std::string& s : absl::GetFlag(FLAGS_sections)) {
    if (s == section) return true;
  }
  return false;
}

// The matmuls of one learner micro-batch (its rows packed end to end): fused q/k/v, the
// attention output, fused gate/up, down, and the LM head.
std::vector<MatmulShape> StepShapes(const nlohmann::json& config) {
  const int64_t m = absl::GetFlag(FLAGS_micro_batch_size) *
                    (absl::GetFlag(FLAGS_prompt_tokens) + absl::GetFlag(FLAGS_new_tokens));
  const int64_t h = config["hidden_size"], i = config["intermediate_size"];
  const int64_t heads = config["num_attention_heads"], kv = config["num_key_value_heads"];
  const int64_t d = config.value("head_dim", h / heads);
  return {{m, h, (heads + 2 * kv) * d},
          {m, heads * d, h},
          {m, h, 2 * i},
          {m, i, h},
          {m, h, config["vocab_size"].get<int64_t>()}};
}

nlohmann::json MatmulJson(const MatmulResult& r) {
  return {{"peak_flops_per_s", r.peak_flops_per_s}, {"shapes", r.shapes}};
}

absl::StatusOr<nlohmann::json> Run() {
  const std::string dir = absl::GetFlag(FLAGS_checkpoint);
  if (dir.empty()) return absl::InvalidArgumentError("--checkpoint is required");
  const std::optional<nlohmann::json> config = bench::ModelShape(absl::GetFlag(FLAGS_shape));
  if (!config) return absl::InvalidArgumentError("--shape: unknown " + absl::GetFlag(FLAGS_shape));
  if (!std::filesystem::exists(dir + "/config.json")) {
    std::cerr << "[bench_scale] writing a random " << absl::GetFlag(FLAGS_shape)
              << " checkpoint to " << dir << "\n";
    RETURN_IF_ERROR(WriteRandomCheckpoint(*config, dir));
  }
  nlohmann::json report = {{"shape", absl::GetFlag(FLAGS_shape)},
                           {"config", *config},
                           {"checkpoint", dir},
                           {"threads", at::get_num_threads()},
                           {"load_average_start", LoadAverage()}};
  if (absl::GetFlag(FLAGS_write_checkpoint_only)) return report;

  const int limit_runs = absl::GetFlag(FLAGS_limit_repeats);
  std::cerr << "[bench_scale] limits: memcpy, matmul float32 and bfloat16\n";
  const MemcpyResult memcpy = MeasureMemcpy(absl::GetFlag(FLAGS_memcpy_mib) << 20, limit_runs);
  const std::vector<MatmulShape> shapes = StepShapes(*config);
  const MatmulResult mm_f32 = MeasureMatmul(at::kFloat, shapes, limit_runs);
  const MatmulResult mm_bf16 = MeasureMatmul(at::kBFloat16, shapes, limit_runs);
  const auto peak = [&](at::ScalarType t) {
    return t == at::kBFloat16 ? mm_bf16.peak_flops_per_s : mm_f32.peak_flops_per_s;
  };
  report["limits"] = {
      {"memcpy",
       {{"bytes", memcpy.bytes},
        {"seconds", memcpy.seconds},
        {"traffic_bytes_per_s", memcpy.traffic_bytes_per_s},
        {"convention", "STREAM copy: (bytes read + bytes written) / best seconds"}}},
      {"matmul", {{"float32", MatmulJson(mm_f32)}, {"bfloat16", MatmulJson(mm_bf16)}}}};

  if (Selected("decode")) {
    report["decode"] = nlohmann::json::array();
    for (const std::string& name : absl::GetFlag(FLAGS_decode_dtypes)) {
      DecodeOptions o;
      o.checkpoint = dir;
      ASSIGN_OR_RETURN(o.dtype, ParseDtype(name));
      o.batch_sizes.clear();
      for (const std::string& b : absl::GetFlag(FLAGS_decode_batches)) {
        o.batch_sizes.push_back(std::stoll(b));
      }
      o.prompt_tokens = absl::GetFlag(FLAGS_prompt_tokens);
      o.new_tokens = absl::GetFlag(FLAGS_new_tokens);
      o.repeats = absl::GetFlag(FLAGS_decode_repeats);
      o.memcpy_traffic_bytes_per_s = memcpy.traffic_bytes_per_s;
      o.matmul_peak_flops_per_s = peak(o.dtype);
      ASSIGN_OR_RETURN(nlohmann::json decode, MeasureDecode(o));
      report["decode"].push_back(std::move(decode));
    }
  }
  std::vector<tensor::NamedTensor> weights;
  if (Selected("learner") || Selected("push")) {
    LearnerStepOptions o;
    o.checkpoint = dir;
    ASSIGN_OR_RETURN(o.dtype, ParseDtype(absl::GetFlag(FLAGS_learner_dtype)));
    o.samples = absl::GetFlag(FLAGS_samples);
    o.group_size = absl::GetFlag(FLAGS_group_size);
    o.prompt_tokens = absl::GetFlag(FLAGS_prompt_tokens);
    o.response_tokens = absl::GetFlag(FLAGS_new_tokens);
    o.micro_batch_size = absl::GetFlag(FLAGS_micro_batch_size);
    o.repeats = Selected("learner") ? absl::GetFlag(FLAGS_learner_repeats) : 0;
    o.matmul_peak_flops_per_s = peak(o.dtype);
    ASSIGN_OR_RETURN(LearnerStepResult learned, MeasureLearnerStep(o));
    if (Selected("learner")) report["learner"] = std::move(learned.report);
    weights = std::move(learned.weights);
  }
  if (Selected("push")) {
    PushOptions o;
    o.checkpoint = dir;
    ASSIGN_OR_RETURN(o.rollout_dtype, ParseDtype(absl::GetFlag(FLAGS_rollout_dtype)));
    o.repeats = absl::GetFlag(FLAGS_push_repeats);
    ASSIGN_OR_RETURN(report["push"], MeasurePush(o, std::move(weights)));
  }
  report["load_average_end"] = LoadAverage();
  return report;
}

}  // namespace
}  // namespace rein::bench_scale

int main(int argc, char** argv) {
  rein::InitProcess("bench-scale");
  rein::ParseFlags(argc, argv,
                   "rein-bench-scale: decode, GRPO step and weight push on a real model shape, "
                   "each against a limit measured in the same run.\n  rein-bench-scale "
                   "--checkpoint DIR [--shape qwen3-0.6b|small|tiny] [--out FILE]");
  if (absl::GetFlag(FLAGS_threads) > 0) at::set_num_threads(absl::GetFlag(FLAGS_threads));
  absl::StatusOr<nlohmann::json> report = rein::bench_scale::Run();
  if (!report.ok()) {
    std::cerr << "rein-bench-scale: " << report.status() << "\n";
    return 1;
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::cout << report->dump(2) << "\n";
  } else {
    std::ofstream(out) << report->dump(2) << "\n";
  }
  return 0;
}
