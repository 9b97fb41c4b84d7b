// y = x w^T + b for the decoder's projections (w in nn.Linear layout [out, in]).
//
// Decode multiplies a handful of rows by every weight matrix, a shape at which a BLAS GEMM spends
// most of its time packing the weight into panels (OpenBLAS: 13-17 GFLOP/s at 8 rows on this
// project's CPU machines). For at most kSkinnyRows rows of float32 on a CPU with AVX2 and FMA,
// and without autograd, a register-blocked kernel streams each weight row once instead (2-4x
// faster at 1-4 rows); everything else goes to at::linear.
#ifndef REIN_COMMON_MODEL_INTERNAL_LINEAR_H_
#define REIN_COMMON_MODEL_INTERNAL_LINEAR_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rein::model::internal {

// Rows up to which the skinny kernel is used (measured crossover with OpenBLAS: ~10).
inline constexpr int64_t kSkinnyRows = 8;

// Whether the forward must compute as it does under autograd: grad mode is on, or a
// ScopedAutogradArithmetic is alive on this thread. Otherwise it may update tensors in place and
// take the skinny kernel, which round differently.
bool AutogradArithmetic();

// Makes AutogradArithmetic() true on this thread while alive: a checkpointed layer's forward
// (grad mode off) then gives the very bits its recomputation in backward gives.
class ScopedAutogradArithmetic {
 public:
  ScopedAutogradArithmetic();
  ~ScopedAutogradArithmetic();
  ScopedAutogradArithmetic(const ScopedAutogradArithmetic&) = delete;
  ScopedAutogradArithmetic& operator=(const ScopedAutogradArithmetic&) = delete;

 private:
  bool previous_;
};

// x [..., K], w [N, K], b [N] or undefined -> [..., N].
at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = at::Tensor());

// The skinny kernel itself, for tests: y[m, n] = b[n] + sum_k x[m, k] w[n, k] over contiguous
// float32 buffers (b may be null). False if this CPU lacks AVX2/FMA (y untouched).
bool SkinnyLinear(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t n,
                  int64_t k);

}  // namespace rein::model::internal

#endif  // REIN_COMMON_MODEL_INTERNAL_LINEAR_H_
