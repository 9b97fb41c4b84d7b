// rein-allreduce-benchmark: what Gloo all-reduce costs on this machine.
//
//   rein-allreduce-benchmark [--min_mib 1] [--max_mib 256] [--json out.json]
//
// 1. All-reduce (sum, float32) of 1..256 MiB between 2 Gloo ranks (threads of this process,
//    over loopback TCP, c10d ProcessGroupGloo → gloo::allreduce, ring algorithm): time per
//    call, algorithm bandwidth (size / time) and bus bandwidth (algbw · 2(n−1)/n, the bytes each
//    rank moves, comparable across world sizes), next to single-thread memcpy bandwidth.
// 2. One training step of an MLP (8 × 1024² float32 layers, 32 MiB of gradients) on 2 ranks,
//    with the gradient all-reduce overlapped with backward (GradientSync hooks) vs after
//    backward, 4 MiB buckets.
// Both ranks share this machine's cores: on a small machine the figures are lower bounds.
#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "common/dist/gloo_communicator.h"
#include "common/dist/gradient_sync.h"
#include "common/process/process_setup.h"

ABSL_FLAG(int, min_mib, 1, "Smallest all-reduce, MiB.");
ABSL_FLAG(int, max_mib, 256, "Largest all-reduce, MiB.");
ABSL_FLAG(int, steps, 10, "Training steps timed per mode.");
ABSL_FLAG(std::string, json, "", "Also write the figures here as JSON.");

namespace rein::dist {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double MemcpyGBps(size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes, 0);
  std::memcpy(b.data(), a.data(), bytes);  // warm
  const int reps = std::max<int>(2, static_cast<int>((size_t{512} << 20) / bytes));
  const auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) std::memcpy(b.data(), a.data(), bytes);
  return static_cast<double>(bytes) * reps / Seconds(t0, Clock::now()) / 1e9;
}

// Runs body(comm, rank) on two ranks; returns rank 0's result.
template <typename F>
double OnTwoRanks(F body) {
  StorePtr store = c10::make_intrusive<c10d::HashStore>();
  double result = 0;
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      GlooOptions options;
      options.rank = r;
      options.world_size = 2;
      options.hostname = "127.0.0.1";
      auto comm = CreateGlooCommunicator(options, store);
      if (!comm.ok()) {
        std::cerr << comm.status() << "\n";
        std::exit(1);
      }
      const double value = body(**comm, r);
      if (r == 0) result = value;
    });
  }
  for (std::thread& t : threads) t.join();
  return result;
}

double AllReduceSeconds(size_t bytes) {
  return OnTwoRanks([bytes](Communicator& comm, int) {
    at::Tensor t = at::ones({static_cast<int64_t>(bytes / 4)}, at::kFloat);
    const int reps = bytes >= (size_t{64} << 20) ? 3 : 10;
    if (!comm.AllReduce(t, ReduceOp::kSum).ok()) std::exit(1);  // warm
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) {
      if (absl::Status s = comm.AllReduce(t, ReduceOp::kSum); !s.ok()) {
        std::cerr << s << "\n";
        std::exit(1);
      }
    }
    return Seconds(t0, Clock::now()) / reps;
  });
}

double StepSeconds(bool overlap, int steps) {
  return OnTwoRanks([overlap, steps](Communicator& comm, int rank) {
    at::manual_seed(rank);
    std::vector<at::Tensor> layers;
    for (int l = 0; l < 8; ++l) layers.push_back((at::randn({1024, 1024}) * 0.03).requires_grad_());
    auto sync = GradientSync::Create(comm, layers,
                                     {.bucket_bytes = size_t{4} << 20, .overlap = overlap});
    if (!sync.ok()) std::exit(1);
    const at::Tensor x = at::randn({256, 1024});
    double total = 0;
    for (int s = -1; s < steps; ++s) {  // step -1 warms up
      const auto t0 = Clock::now();
      at::Tensor h = x;
      for (const at::Tensor& w : layers) h = at::relu(at::matmul(h, w));
      (*sync)->ArmForLastBackward();
      h.square().mean().backward();
      if (absl::Status st = (*sync)->Finish(); !st.ok()) {
        std::cerr << st << "\n";
        std::exit(1);
      }
      for (const at::Tensor& w : layers) w.mutable_grad().zero_();
      if (s >= 0) total += Seconds(t0, Clock::now());
    }
    return total / steps;
  });
}

}  // namespace
}  // namespace rein::dist

int main(int argc, char** argv) {
  rein::ParseFlags(argc, argv,
                   "rein-allreduce-benchmark: what Gloo all-reduce costs on this machine.\n  rein-allreduce-benchmark [--min_mib 1] [--max_mib 256] [--json out.json]");
  using rein::dist::AllReduceSeconds;
  nlohmann::json report;
  report["world_size"] = 2;
  report["backend"] = "gloo (c10d ProcessGroupGloo, ring all-reduce, loopback TCP)";
  report["hardware_threads"] = std::thread::hardware_concurrency();
  std::printf("%10s %12s %14s %14s %14s\n", "size_MiB", "time_ms", "algbw_GB/s", "busbw_GB/s",
              "memcpy_GB/s");
  for (int mib = absl::GetFlag(FLAGS_min_mib); mib <= absl::GetFlag(FLAGS_max_mib); mib *= 2) {
    const size_t bytes = static_cast<size_t>(mib) << 20;
    const double seconds = AllReduceSeconds(bytes);
    const double algbw = static_cast<double>(bytes) / seconds / 1e9;
    const double busbw = algbw * 2.0 * (2 - 1) / 2;
    const double memcpy = rein::dist::MemcpyGBps(bytes);
    std::printf("%10d %12.2f %14.2f %14.2f %14.2f\n", mib, seconds * 1e3, algbw, busbw, memcpy);
    std::fflush(stdout);
    report["allreduce"].push_back({{"mib", mib}, {"seconds", seconds}, {"algbw_gbps", algbw},
                                   {"busbw_gbps", busbw}, {"memcpy_gbps", memcpy}});
  }
  const int steps = absl::GetFlag(FLAGS_steps);
  const double after = rein::dist::StepSeconds(false, steps);
  const double overlapped = rein::dist::StepSeconds(true, steps);
  std::printf("step (8x1024^2 MLP, batch 256, 32 MiB grads, 4 MiB buckets): after-backward "
              "%.1f ms, overlapped %.1f ms\n", after * 1e3, overlapped * 1e3);
  report["step"] = {{"after_backward_seconds", after}, {"overlapped_seconds", overlapped}};
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream(path) << report.dump(2) << "\n";
  }
  return 0;
}
