// Wall-clock helpers of the scale benchmark.
#ifndef REIN_TOOLS_BENCH_SCALE_TIMING_H_
#define REIN_TOOLS_BENCH_SCALE_TIMING_H_

#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

namespace rein::bench_scale {

// Seconds `fn` takes.
template <typename Fn>
double Seconds(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The fastest run; NaN when there was none (a section run only for its side product, e.g. the
// trained weights the push section sends).
inline double Best(const std::vector<double>& seconds) {
  if (seconds.empty()) return std::numeric_limits<double>::quiet_NaN();
  return *std::min_element(seconds.begin(), seconds.end());
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace rein::bench_scale

#endif  // REIN_TOOLS_BENCH_SCALE_TIMING_H_
