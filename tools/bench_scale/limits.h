// The machine's limits, measured in the same run as the figures compared against them:
// memory bandwidth (a memcpy over LibTorch's intra-op threads, the threads decode runs on) and
// matmul peak (at::mm over the learner step's shapes, per dtype).
//
// Thread safety: each call owns its buffers; they use LibTorch's intra-op pool.
#ifndef REIN_TOOLS_BENCH_SCALE_LIMITS_H_
#define REIN_TOOLS_BENCH_SCALE_LIMITS_H_

#include <c10/core/ScalarType.h>

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace rein::bench_scale {

struct MemcpyResult {
  int64_t bytes = 0;        // copied per run, from one buffer into another
  double best_seconds = 0;  // fastest of the runs
  // STREAM "copy" convention: bytes read + bytes written per second (2 x bytes / seconds). The
  // decode roofline divides the bytes it must read by this.
  double traffic_bytes_per_s = 0;
  std::vector<double> seconds;
};

// Copies `bytes` between two buffers `runs` times (after one untimed pass that faults the pages
// in), split over the intra-op threads.
MemcpyResult MeasureMemcpy(int64_t bytes, int runs);

// One matmul shape: [m, k] x [k, n].
using MatmulShape = std::array<int64_t, 3>;

struct MatmulResult {
  double peak_flops_per_s = 0;  // the best shape's best run
  nlohmann::json shapes;        // per shape: m, k, n, best FLOP/s
};

// at::mm in `dtype` on each shape, `runs` timed runs after one warm-up; FLOPs = 2 m k n.
MatmulResult MeasureMatmul(at::ScalarType dtype, const std::vector<MatmulShape>& shapes, int runs);

}  // namespace rein::bench_scale

#endif  // REIN_TOOLS_BENCH_SCALE_LIMITS_H_
