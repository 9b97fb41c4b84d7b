#include "common/model/internal/linear.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <c10/core/GradMode.h>
#include <immintrin.h>

#include <vector>

namespace rein::model::internal {
namespace {

// Blocks of kRowBlock x rows by kColBlock weight rows: 12 accumulators + 3 weight vectors + 1 x
// vector = 16 ymm registers, no spills. The weight rows of a block (3 x K floats) stay in L1
// while every x row passes over them, so each weight is read from memory once per call.
constexpr int kRowBlock = 4;
constexpr int kColBlock = 3;

__attribute__((target("avx2,fma"))) float HorizontalSum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

// y[m0 .. m0+MB, n0 .. n0+NB] of y [rows, n].
template <int MB, int NB>
__attribute__((target("avx2,fma"))) void Block(const float* x, const float* w, const float* b,
                                               float* y, int64_t n, int64_t k, int64_t m0,
                                               int64_t n0) {
  __m256 acc[MB][NB];
  for (int i = 0; i < MB; ++i) {
    for (int j = 0; j < NB; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  const int64_t k8 = k & ~int64_t{7};
  for (int64_t kk = 0; kk < k8; kk += 8) {
    __m256 wv[NB];
    for (int j = 0; j < NB; ++j) wv[j] = _mm256_loadu_ps(w + (n0 + j) * k + kk);
    for (int i = 0; i < MB; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + (m0 + i) * k + kk);
      for (int j = 0; j < NB; ++j) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MB; ++i) {
    for (int j = 0; j < NB; ++j) {
      float sum = HorizontalSum(acc[i][j]);
      for (int64_t kk = k8; kk < k; ++kk) sum += x[(m0 + i) * k + kk] * w[(n0 + j) * k + kk];
      y[(m0 + i) * n + n0 + j] = b != nullptr ? sum + b[n0 + j] : sum;
    }
  }
}

template <int NB>
__attribute__((target("avx2,fma"))) void Columns(const float* x, const float* w, const float* b,
                                                 float* y, int64_t rows, int64_t n, int64_t k,
                                                 int64_t n0) {
  int64_t m = 0;
  for (; m + kRowBlock <= rows; m += kRowBlock) Block<kRowBlock, NB>(x, w, b, y, n, k, m, n0);
  for (; m + 2 <= rows; m += 2) Block<2, NB>(x, w, b, y, n, k, m, n0);
  for (; m < rows; ++m) Block<1, NB>(x, w, b, y, n, k, m, n0);
}

__attribute__((target("avx2,fma"))) void Range(const float* x, const float* w, const float* b,
                                               float* y, int64_t rows, int64_t n, int64_t k,
                                               int64_t begin, int64_t end) {
  int64_t col = begin;
  for (; col + kColBlock <= end; col += kColBlock) Columns<kColBlock>(x, w, b, y, rows, n, k, col);
  for (; col < end; ++col) Columns<1>(x, w, b, y, rows, n, k, col);
}

bool HaveAvx2() {
  static const bool have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return have;
}

}  // namespace

bool SkinnyLinear(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t n,
                  int64_t k) {
  if (!HaveAvx2()) return false;
  // Chunks of whole column blocks; one chunk per thread.
  const int64_t blocks = (n + kColBlock - 1) / kColBlock;
  at::parallel_for(0, blocks, /*grain_size=*/64, [&](int64_t first, int64_t last) {
    Range(x, w, b, y, rows, n, k, first * kColBlock, std::min(n, last * kColBlock));
  });
  return true;
}

namespace {
thread_local bool autograd_arithmetic = false;
}  // namespace

bool AutogradArithmetic() { return autograd_arithmetic || c10::GradMode::is_enabled(); }

ScopedAutogradArithmetic::ScopedAutogradArithmetic() : previous_(autograd_arithmetic) {
  autograd_arithmetic = true;
}

ScopedAutogradArithmetic::~ScopedAutogradArithmetic() { autograd_arithmetic = previous_; }

at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  const int64_t k = w.size(1), n = w.size(0);
  const int64_t rows = k > 0 ? x.numel() / k : 0;
  const bool skinny = rows > 0 && rows <= kSkinnyRows && x.scalar_type() == at::kFloat &&
                      w.scalar_type() == at::kFloat && x.device().is_cpu() && w.is_contiguous() &&
                      (!b.defined() || (b.is_contiguous() && b.scalar_type() == at::kFloat)) &&
                      !AutogradArithmetic() && HaveAvx2();
  if (!skinny) return at::linear(x, w, b);
  const at::Tensor input = x.contiguous();
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = n;
  at::Tensor y = at::empty(shape, x.options());
  SkinnyLinear(input.data_ptr<float>(), w.data_ptr<float>(),
               b.defined() ? b.data_ptr<float>() : nullptr, y.data_ptr<float>(), rows, n, k);
  return y;
}

}  // namespace rein::model::internal
