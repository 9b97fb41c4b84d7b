#include "common/rl/advantages.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "common/rl/internal/test_util.h"

namespace rein::rl {
namespace {

using testing::AllClose;
using testing::Mat;
using testing::Ok;
using testing::Vec;

TEST_CASE("GAE by hand") {
  // r = [0, 0, 1], V = [0.5, 0.6, 0.7], γ = 0.9, λ = 0.8 (γλ = 0.72):
  //   t=2: δ = 1 − 0.7 = 0.3;                A = 0.3
  //   t=1: δ = 0.9·0.7 − 0.6 = 0.03;         A = 0.03 + 0.72·0.3 = 0.246
  //   t=0: δ = 0.9·0.6 − 0.5 = 0.04;         A = 0.04 + 0.72·0.246 = 0.21712
  // R = A + V = [0.71712, 0.846, 1.0].
  const GaeResult g = Ok(ComputeGae(Mat({{0, 0, 1}}), Mat({{0.5, 0.6, 0.7}}), Mat({{1, 1, 1}}),
                                    {.gamma = 0.9, .lambda = 0.8}));
  CHECK(AllClose(g.advantages, Mat({{0.21712, 0.246, 0.3}}), 1e-12));
  CHECK(AllClose(g.returns, Mat({{0.71712, 0.846, 1.0}}), 1e-12));
}

TEST_CASE("GAE with gamma = lambda = 1 is reward-to-go minus value") {
  const int64_t b = 5, t = 7;
  const at::Tensor r = at::randn({b, t}, at::kDouble);
  const at::Tensor v = at::randn({b, t}, at::kDouble);
  at::Tensor mask = at::zeros({b, t}, at::kDouble);
  for (int64_t i = 0; i < b; ++i) mask[i].narrow(0, 0, 1 + i).fill_(1);  // lengths 1..5
  const GaeResult g = Ok(ComputeGae(r, v, mask, {.gamma = 1.0, .lambda = 1.0}));
  // Reward-to-go by a plain loop: G_t = Σ_{k >= t, real} r_k.
  at::Tensor expected = at::zeros({b, t}, at::kDouble);
  for (int64_t i = 0; i < b; ++i) {
    double to_go = 0;
    for (int64_t k = t - 1; k >= 0; --k) {
      if (mask[i][k].item<double>() == 0) continue;
      to_go += r[i][k].item<double>();
      expected[i][k] = to_go - v[i][k].item<double>();
    }
  }
  CHECK(AllClose(g.advantages, expected, 1e-12));
  CHECK(AllClose(g.returns, (expected + v) * mask, 1e-12));
  CHECK(AllClose(Ok(DiscountedReturns(r, mask, 1.0)), (expected + v) * mask, 1e-12));
}

TEST_CASE("Padding never changes advantages or returns") {
  const at::Tensor r = Vec({0.1, -0.2, 0.3, 1.0});
  const at::Tensor v = Vec({0.5, 0.4, 0.2, 0.7});
  const GaeOptions opts{.gamma = 0.95, .lambda = 0.9};
  const GaeResult ref = Ok(ComputeGae(r.unsqueeze(0), v.unsqueeze(0), Mat({{1, 1, 1, 1}}), opts));
  const double nan = std::nan("");
  // The same four tokens with right, left and interior padding holding NaN rewards and values.
  const at::Tensor pr = Mat({{0.1, -0.2, 0.3, 1.0, nan, nan},
                             {nan, nan, 0.1, -0.2, 0.3, 1.0},
                             {0.1, nan, -0.2, 0.3, nan, 1.0}});
  const at::Tensor pv = Mat({{0.5, 0.4, 0.2, 0.7, nan, nan},
                             {nan, nan, 0.5, 0.4, 0.2, 0.7},
                             {0.5, nan, 0.4, 0.2, nan, 0.7}});
  const at::Tensor pm = Mat({{1, 1, 1, 1, 0, 0}, {0, 0, 1, 1, 1, 1}, {1, 0, 1, 1, 0, 1}});
  const GaeResult padded = Ok(ComputeGae(pr, pv, pm, opts));
  for (int64_t row = 0; row < 3; ++row) {
    const at::Tensor keep = pm[row].to(at::kBool);
    CHECK(AllClose(padded.advantages[row].masked_select(keep), ref.advantages[0], 1e-12));
    CHECK(AllClose(padded.returns[row].masked_select(keep), ref.returns[0], 1e-12));
    CHECK(padded.advantages[row].masked_select(keep.logical_not()).abs().sum().item<double>() ==
          0.0);
  }
  const at::Tensor g_ref = Ok(DiscountedReturns(r.unsqueeze(0), Mat({{1, 1, 1, 1}}), 0.9));
  const at::Tensor g_pad = Ok(DiscountedReturns(pr, pm, 0.9));
  CHECK(AllClose(g_pad[2].masked_select(pm[2].to(at::kBool)), g_ref[0], 1e-12));
}

TEST_CASE("DiscountedReturns by hand") {
  // r = [1, 2, 3], γ = ½: G_2 = 3, G_1 = 2 + ½·3 = 3.5, G_0 = 1 + ½·3.5 = 2.75.
  CHECK(AllClose(Ok(DiscountedReturns(Mat({{1, 2, 3}}), Mat({{1, 1, 1}}), 0.5)),
                 Mat({{2.75, 3.5, 3.0}}), 1e-12));
  CHECK(testing::IsInvalidNaming(DiscountedReturns(Mat({{1}}), Mat({{1}}), 1.5).status(),
                                 "gamma"));
  CHECK(testing::IsInvalidNaming(
      ComputeGae(Mat({{1, 2}}), Mat({{1}}), Mat({{1, 1}})).status(), "values"));
}

TEST_CASE("RewardNormalizer keeps running moments and clips") {
  RewardNormalizer norm = Ok(RewardNormalizer::Create({.clip = 0.0}));
  // Batch [1, 2, 3]: μ = 2, σ² = 2/3 → (r − μ)/σ = [−1.224745, 0, 1.224745].
  const at::Tensor a = Ok(norm.Normalize(Vec({1, 2, 3})));
  CHECK(AllClose(a, Vec({-1.2247448714, 0.0, 1.2247448714}), 1e-7));  // eps = 1e-8 in σ + eps
  // Then [4, 6]: all five values have μ = 3.2, σ² = 66/5 − 3.2² = 2.96 (Chan: M2 = 2 + 2 +
  // 3²·3·2/5 = 14.8); (r − μ)/σ = [0.8, 2.8] / 1.720465 = [0.464991, 1.627467].
  const at::Tensor b = Ok(norm.Normalize(Vec({4, 6})));
  CHECK(norm.moments().count == 5);
  CHECK(norm.moments().mean == Approx(3.2));
  CHECK(norm.moments().variance() == Approx(2.96));
  CHECK(AllClose(b, Vec({0.4649905, 1.6274668}), 1e-6));
  // Clipping to ±1 after normalising: [0.464991, 1].
  RewardNormalizer clipped = Ok(RewardNormalizer::Create({.clip = 1.0}));
  REQUIRE(clipped.Restore(norm.moments()).ok());
  CHECK(AllClose(Ok(clipped.Apply(Vec({4, 6}))), Vec({0.4649905, 1.0}), 1e-6));
  // Without scaling only the clip applies.
  RewardNormalizer clip_only = Ok(RewardNormalizer::Create({.scale = false, .clip = 2.0}));
  CHECK(AllClose(Ok(clip_only.Normalize(Vec({-5, 1, 5}))), Vec({-2, 1, 2}), 0));
  // A non-finite score is refused and leaves the moments alone.
  CHECK_FALSE(norm.Normalize(Vec({std::nan("")})).ok());
  CHECK(norm.moments().count == 5);
  CHECK_FALSE(norm.Restore({.count = -1}).ok());
}

}  // namespace
}  // namespace rein::rl
