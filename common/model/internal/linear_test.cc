#include "common/model/internal/linear.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/randn.h>

#include <catch2/catch.hpp>

namespace rein::model::internal {
namespace {

TEST_CASE("the skinny kernel computes x w^T + b for every shape, tails included") {
  at::NoGradGuard no_grad;
  for (int64_t rows : {1, 2, 3, 5, 8}) {
    for (int64_t n : {1, 4, 7, 65}) {
      for (int64_t k : {1, 8, 13, 64, 70}) {
        at::Tensor x = at::randn({rows, k}), w = at::randn({n, k}), b = at::randn({n});
        at::Tensor y = at::empty({rows, n});
        if (!SkinnyLinear(x.data_ptr<float>(), w.data_ptr<float>(), b.data_ptr<float>(),
                          y.data_ptr<float>(), rows, n, k)) {
          WARN("no AVX2/FMA: the skinny kernel is not used on this CPU");
          return;
        }
        INFO(rows << "x" << k << " times " << n << "x" << k);
        CHECK(at::allclose(y, at::linear(x, w, b), 1e-5, 1e-5));
        CHECK(at::allclose(Linear(x.view({rows, 1, k}), w), at::linear(x, w).view({rows, 1, n}),
                           1e-5, 1e-5));
      }
    }
  }
}

TEST_CASE("Linear falls back to at::linear for many rows, other dtypes and autograd") {
  at::Tensor w = at::randn({5, 16}), b = at::randn({5});
  at::Tensor x = at::randn({kSkinnyRows + 1, 16});
  CHECK(at::allclose(Linear(x, w, b), at::linear(x, w, b)));
  CHECK(at::allclose(Linear(x.to(at::kDouble), w.to(at::kDouble)),
                     at::linear(x.to(at::kDouble), w.to(at::kDouble))));
  at::Tensor leaf = at::randn({5, 16}).requires_grad_(true);
  at::Tensor y = Linear(x.narrow(0, 0, 2), leaf, b);
  REQUIRE(y.requires_grad());
  y.sum().backward();
  CHECK(leaf.grad().defined());
}

}  // namespace
}  // namespace rein::model::internal
