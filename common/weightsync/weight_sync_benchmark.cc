// rein-weight-sync-benchmark: throughput of pushing a policy-sized tensor set through the
// chunked gRPC stream on loopback (split, checksum, gRPC, reassemble, install), against a plain
// TCP socket moving the same bytes between two buffers, in the same run.
//
//   rein-weight-sync-benchmark --total_mib=256 --chunk_mib=4 --repeats=3 --out=result.json
#include <ATen/ops/empty.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "common/bench/loopback_tcp.h"
#include "common/process/process_setup.h"
#include "common/rpc/client.h"
#include "common/rpc/server.h"
#include "common/weightsync/weight_sink_service.h"

ABSL_FLAG(int, total_mib, 256, "Size of the tensor set, MiB.");
ABSL_FLAG(int, tensor_mib, 4, "Size of each tensor in the set, MiB.");
ABSL_FLAG(int, chunk_mib, 4, "Data bytes per chunk, MiB.");
ABSL_FLAG(int, repeats, 5, "Timed repetitions after the warm-up; best and median reported.");
ABSL_FLAG(std::string, out, "", "Write the results as JSON to this file.");

namespace rein::weightsync {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<tensor::NamedTensor> MakeSet(int64_t total_bytes, int64_t tensor_bytes) {
  std::vector<tensor::NamedTensor> set;
  for (int64_t done = 0, i = 0; done < total_bytes; done += tensor_bytes, ++i) {
    at::Tensor t = at::empty({tensor_bytes / 4}, at::kFloat);
    float* data = t.data_ptr<float>();
    for (int64_t j = 0; j < t.numel(); ++j) data[j] = static_cast<float>((i * 7919 + j) % 1000);
    set.emplace_back("layers." + std::to_string(i) + ".weight", t);
  }
  return set;
}

struct Timing {
  double best = 0;
  double median = 0;
};

// Untimed runs first: the connection, and the heap growing to hold the sets in flight (the
// installed one, the incoming one and the one being released).
constexpr int kWarmupRuns = 3;

// Best and median of the timed runs.
Timing Summarise(std::vector<double> seconds) {
  seconds.erase(seconds.begin(), seconds.begin() + kWarmupRuns);
  std::sort(seconds.begin(), seconds.end());
  return {seconds.front(), seconds[seconds.size() / 2]};
}

// Seconds to push `set` to a local WeightSink over gRPC, per run.
Timing TimeGrpcStream(const std::vector<tensor::NamedTensor>& set, int64_t chunk_bytes,
                      int repeats) {
  prometheus::Registry registry;
  WeightSinkService sink;
  auto server = rpc::Server::Create({}, {rpc::Bind<rein::v1::Rollout>(&sink)}, registry);
  if (!server.ok()) throw std::runtime_error(server.status().ToString());
  rpc::ClientOptions client;
  auto stub = rein::v1::Rollout::NewStub(*rpc::CreateChannel((*server)->address(), client));
  PushOptions options;
  options.split.chunk_bytes = chunk_bytes;
  std::vector<double> seconds;
  for (int r = 0; r < kWarmupRuns + repeats; ++r) {
    auto start = Clock::now();
    auto reply = PushWeights(*stub, client, static_cast<uint64_t>(r + 1), set, options);
    seconds.push_back(Seconds(start));
    if (!reply.ok()) throw std::runtime_error(reply.status().ToString());
  }
  return Summarise(seconds);
}

// Seconds to move `bytes` from one buffer to another through a loopback TCP socket, per run.
Timing TimeRawTcp(int64_t bytes, int repeats) {
  auto seconds = bench::LoopbackTcpSeconds(bytes, kWarmupRuns + repeats);
  if (!seconds.ok()) throw std::runtime_error(seconds.status().ToString());
  return Summarise(*std::move(seconds));
}

int Run() {
  const int64_t mib = int64_t{1} << 20;
  const int64_t total = absl::GetFlag(FLAGS_total_mib) * mib;
  const int64_t chunk = absl::GetFlag(FLAGS_chunk_mib) * mib;
  const int repeats = absl::GetFlag(FLAGS_repeats);
  auto set = MakeSet(total, absl::GetFlag(FLAGS_tensor_mib) * mib);
  Timing grpc = TimeGrpcStream(set, chunk, repeats);
  Timing tcp = TimeRawTcp(total, repeats);
  double grpc_seconds = grpc.best, tcp_seconds = tcp.best;
  double gb = static_cast<double>(total) / 1e9;
  nlohmann::json result = {
      {"benchmark", "weight_sync"},
      {"total_bytes", total},
      {"tensors", set.size()},
      {"chunk_bytes", chunk},
      {"repeats", repeats},
      {"grpc_stream_seconds", grpc_seconds},
      {"grpc_stream_gb_per_s", gb / grpc_seconds},
      {"grpc_stream_median_seconds", grpc.median},
      {"raw_tcp_seconds", tcp_seconds},
      {"raw_tcp_gb_per_s", gb / tcp_seconds},
      {"raw_tcp_median_seconds", tcp.median},
      {"ratio_stream_to_tcp", tcp_seconds / grpc_seconds},
      {"target_ratio", 0.5},
  };
  std::printf("weight sync, %.0f MiB in %zu tensors, %.0f MiB chunks (best of %d)\n",
              static_cast<double>(total) / mib, set.size(), static_cast<double>(chunk) / mib,
              repeats);
  std::printf("  chunked gRPC stream  %7.3f s  %6.2f GB/s  (median %.3f s)\n", grpc_seconds,
              gb / grpc_seconds, grpc.median);
  std::printf("  raw TCP socket       %7.3f s  %6.2f GB/s  (median %.3f s)\n", tcp_seconds,
              gb / tcp_seconds, tcp.median);
  std::printf("  stream / raw TCP     %7.2f x  (target >= 0.5)\n", tcp_seconds / grpc_seconds);
  if (std::string out = absl::GetFlag(FLAGS_out); !out.empty()) {
    std::ofstream(out) << result.dump(2) << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace rein::weightsync

int main(int argc, char** argv) {
  rein::InitProcess("weight-sync-benchmark");  // As every Rein service does.
  rein::ParseFlags(argc, argv,
                   "rein-weight-sync-benchmark: weight push over gRPC on loopback against raw TCP.\n  rein-weight-sync-benchmark --total_mib=256 --chunk_mib=4 --repeats=3 --out=result.json");
  try {
    return rein::weightsync::Run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rein-weight-sync-benchmark: %s\n", e.what());
    return 1;
  }
}
