#include "tools/bench_scale/limits.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/randn.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstring>

#include "tools/bench_scale/timing.h"

namespace rein::bench_scale {

MemcpyResult MeasureMemcpy(int64_t bytes, int runs) {
  std::vector<char> from(static_cast<size_t>(bytes), 1), to(static_cast<size_t>(bytes), 0);
  auto copy = [&] {
    // One contiguous block per thread: each streams its own share, as the decode's matmuls do.
    const int64_t grain = std::max<int64_t>(bytes / at::get_num_threads(), 1 << 20);
    at::parallel_for(0, bytes, grain, [&](int64_t begin, int64_t end) {
      std::memcpy(to.data() + begin, from.data() + begin, static_cast<size_t>(end - begin));
    });
  };
  copy();
  MemcpyResult result;
  result.bytes = bytes;
  for (int r = 0; r < runs; ++r) result.seconds.push_back(Seconds(copy));
  result.best_seconds = Best(result.seconds);
  result.traffic_bytes_per_s = 2.0 * static_cast<double>(bytes) / result.best_seconds;
  return result;
}

MatmulResult MeasureMatmul(at::ScalarType dtype, const std::vector<MatmulShape>& shapes, int runs) {
  c10::InferenceMode inference;
  MatmulResult result;
  result.shapes = nlohmann::json::array();
  for (const auto& [m, k, n] : shapes) {
    const at::Tensor a = at::randn({m, k}, at::TensorOptions().dtype(dtype));
    const at::Tensor b = at::randn({k, n}, at::TensorOptions().dtype(dtype));
    auto multiply = [&] { at::mm(a, b); };
    multiply();
    double best = 0;
    for (int r = 0; r < runs; ++r) best = std::max(best, 2.0 * m * k * n / Seconds(multiply));
    result.peak_flops_per_s = std::max(result.peak_flops_per_s, best);
    result.shapes.push_back({{"m", m}, {"k", k}, {"n", n}, {"flops_per_s", best}});
  }
  return result;
}

}  // namespace rein::bench_scale
