// rein_codec_benchmark: throughput of the tensor codec and of chunked transfer, against a plain
// memcpy of the same bytes into a preallocated, already-touched buffer.
//
//   rein_codec_benchmark [--out results.json] [--repeats N]
//
// Each measurement runs once untimed (warm-up: faults in buffers, sizes the reused message),
// then N timed runs; the best is reported, as the least disturbed by other processes.
// Throughput is decimal GB/s (1e9 bytes per second) of tensor data.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/tensor/chunking.h"
#include "common/tensor/codec.h"

namespace rein::tensor {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr double kTargetRatio = 0.5;  // The codec must reach half of memcpy's throughput.

struct Result {
  std::string op;
  int64_t bytes = 0;
  double best_seconds = 0;
  double baseline_seconds = 0;  // memcpy of the same number of bytes.

  double GbPerSecond() const { return static_cast<double>(bytes) / best_seconds / 1e9; }
  double Ratio() const { return baseline_seconds / best_seconds; }
};

// Runs `body` once to warm up, then `repeats` times, and returns the fastest run in seconds.
// `body` returns false to abort (an error already reported).
double BestOf(int repeats, const std::function<bool()>& body) {
  using Clock = std::chrono::steady_clock;
  if (!body()) std::exit(1);
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    const Clock::time_point start = Clock::now();
    if (!body()) std::exit(1);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  return best;
}

bool Check(const absl::Status& status, absl::string_view what) {
  if (status.ok()) return true;
  std::cerr << what << ": " << status << "\n";
  return false;
}

// An f32 tensor of `bytes` bytes with every page touched and non-trivial contents.
at::Tensor MakeF32(int64_t bytes) {
  at::Tensor t = at::empty({bytes / 4}, at::TensorOptions().dtype(at::kFloat));
  auto* data = static_cast<float*>(t.data_ptr());
  for (int64_t i = 0; i < bytes / 4; ++i) data[i] = static_cast<float>(i % 9973) * 0.5f;
  return t;
}

// Default repeats: enough runs to find a quiet one, about 2 GiB of data per measurement.
int RepeatsFor(int64_t bytes, int override_repeats) {
  if (override_repeats > 0) return override_repeats;
  return static_cast<int>(std::clamp<int64_t>((2048 * kMiB) / bytes, 5, 200));
}

double TimeMemcpy(const at::Tensor& src, int repeats) {
  const auto n = static_cast<size_t>(src.nbytes());
  std::vector<char> dst(n, 1);  // Preallocated and touched: the best case for the copy.
  const double seconds = BestOf(repeats, [&] {
    std::memcpy(dst.data(), src.data_ptr(), n);
    return true;
  });
  volatile char keep = dst[n / 2];  // The copy's result is observed, so it cannot be elided.
  (void)keep;
  return seconds;
}

// Encode, decode and, for reference, protobuf's set_data(ptr, n), for one tensor size.
void MeasureCodec(int64_t bytes, int override_repeats, std::vector<Result>& results) {
  const at::Tensor t = MakeF32(bytes);
  const int repeats = RepeatsFor(bytes, override_repeats);
  const double baseline = TimeMemcpy(t, repeats);
  results.push_back({"memcpy (preallocated)", bytes, baseline, baseline});

  rein::v1::Tensor proto;  // Reused, as a sender reuses its message.
  results.push_back({"encode", bytes, BestOf(repeats, [&] {
                       return Check(EncodeTensor(t, &proto), "encode");
                     }),
                     baseline});

  const DecodeLimits limits;
  results.push_back({"decode", bytes, BestOf(repeats, [&] {
                       absl::StatusOr<at::Tensor> decoded = DecodeTensor(proto, limits);
                       return Check(decoded.status(), "decode");
                     }),
                     baseline});

  rein::v1::Tensor reference;
  results.push_back({"ref: proto set_data(ptr,n)", bytes, BestOf(repeats, [&] {
                       reference.set_data(t.data_ptr(), static_cast<size_t>(bytes));
                       return true;
                     }),
                     baseline});
}

// A 256 MiB-class weight set: 32 f32 tensors of 8 MiB + 4000 bytes each, so that the 4 MiB
// chunk size does not divide the tensors evenly.
std::vector<NamedTensor> MakeWeightSet() {
  std::vector<NamedTensor> set;
  for (int i = 0; i < 32; ++i) {
    set.emplace_back(absl::StrCat("model.layers.", i, ".weight"), MakeF32(8 * kMiB + 4000));
  }
  return set;
}

void MeasureChunking(int override_repeats, std::vector<Result>& results) {
  const std::vector<NamedTensor> set = MakeWeightSet();
  int64_t bytes = 0;
  for (const NamedTensor& named : set) bytes += static_cast<int64_t>(named.second.nbytes());
  const int repeats = RepeatsFor(bytes, override_repeats);
  const double baseline = TimeMemcpy(MakeF32(bytes), repeats);
  const SplitOptions split{4 * kMiB};

  results.push_back({"split (4 MiB chunks)", bytes, BestOf(repeats, [&] {
                       return Check(SplitTensorSet(1, set, split,
                                                   [](const rein::v1::TensorChunk&) {
                                                     return absl::OkStatus();
                                                   }),
                                    "split");
                     }),
                     baseline});

  // A rollout worker's cycle: the set in use stays alive while the next one is assembled,
  // then the new one replaces it and the old one is freed (inside the timed region: it is part
  // of every cycle).
  TensorSet in_use;
  results.push_back({"split+assemble (4 MiB)", bytes, BestOf(repeats, [&] {
                       std::unique_ptr<ChunkAssembler> assembler = *ChunkAssembler::Create({});
                       if (!Check(SplitTensorSet(1, set, split,
                                                 [&](const rein::v1::TensorChunk& chunk) {
                                                   return assembler->Add(chunk);
                                                 }),
                                  "split+assemble")) {
                         return false;
                       }
                       absl::StatusOr<TensorSet> assembled = assembler->Finish();
                       if (!Check(assembled.status(), "finish")) return false;
                       in_use = *std::move(assembled);
                       return true;
                     }),
                     baseline});
}

std::string SizeLabel(int64_t bytes) {
  if (bytes % kMiB == 0) return absl::StrCat(bytes / kMiB, " MiB");
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / kMiB);
  return text;
}

void PrintTable(const std::vector<Result>& results) {
  std::printf("%-28s %10s %10s %9s %10s\n", "op", "size", "best ms", "GB/s", "vs memcpy");
  for (const Result& r : results) {
    std::printf("%-28s %10s %10.3f %9.2f %9.2fx\n", r.op.c_str(), SizeLabel(r.bytes).c_str(),
                r.best_seconds * 1e3, r.GbPerSecond(), r.Ratio());
  }
}

// True when every encode and decode reaches kTargetRatio of memcpy.
bool MeetsTarget(const std::vector<Result>& results) {
  return std::all_of(results.begin(), results.end(), [](const Result& r) {
    return (r.op != "encode" && r.op != "decode") || r.Ratio() >= kTargetRatio;
  });
}

nlohmann::json ToJson(const std::vector<Result>& results, int override_repeats) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Result& r : results) {
    rows.push_back({{"op", r.op},
                    {"bytes", r.bytes},
                    {"best_seconds", r.best_seconds},
                    {"gb_per_s", r.GbPerSecond()},
                    {"memcpy_seconds", r.baseline_seconds},
                    {"ratio_vs_memcpy", r.Ratio()}});
  }
  return {{"benchmark", "rein_codec_benchmark"},
          {"units", {{"gb_per_s", "1e9 bytes of tensor data per second, best run"}}},
          {"repeats_override", override_repeats},
          {"target_ratio_vs_memcpy", kTargetRatio},
          {"codec_meets_target", MeetsTarget(results)},
          {"results", rows}};
}

struct Args {
  std::string out;
  int repeats = 0;  // 0: RepeatsFor's default.
};

constexpr char kUsage[] = "usage: rein-codec-benchmark [--out FILE.json] [--repeats N]\n";

// False when the program should exit; `exit_code` says with which status (0 after --help).
bool ParseArgs(int argc, char** argv, Args& args, int& exit_code) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << "rein-codec-benchmark: tensor codec throughput against memcpy.\n" << kUsage;
      exit_code = 0;
      return false;
    } else if (flag == "--out" && i + 1 < argc) {
      args.out = argv[++i];
    } else if (flag == "--repeats" && i + 1 < argc &&
               absl::SimpleAtoi(argv[i + 1], &args.repeats) && args.repeats > 0) {
      ++i;
    } else {
      std::cerr << kUsage;
      exit_code = 2;
      return false;
    }
  }
  return true;
}

int Main(int argc, char** argv) {
  Args args;
  int exit_code = 0;
  if (!ParseArgs(argc, argv, args, exit_code)) return exit_code;
  std::vector<Result> results;
  for (int64_t bytes : {1 * kMiB, 16 * kMiB, 256 * kMiB}) {
    MeasureCodec(bytes, args.repeats, results);
  }
  MeasureChunking(args.repeats, results);
  PrintTable(results);
  const bool meets = MeetsTarget(results);
  std::printf("codec >= %.1fx memcpy: %s\n", kTargetRatio, meets ? "yes" : "NO");
  if (!args.out.empty()) {
    std::ofstream file(args.out);
    file << ToJson(results, args.repeats).dump(2) << "\n";
    if (!file) {
      std::cerr << "cannot write " << args.out << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace rein::tensor

int main(int argc, char** argv) { return rein::tensor::Main(argc, argv); }
