#include "common/rl/critic_free.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "common/rl/internal/test_util.h"

namespace rein::rl {
namespace {

using testing::AllClose;
using testing::Mat;
using testing::Ok;
using testing::Vec;

// Two prompts × three samples; the samples have 2, 1, 3, 3, 2, 1 real tokens.
at::Tensor Mask() {
  return Mat({{1, 1, 0}, {1, 0, 0}, {1, 1, 1}, {1, 1, 1}, {1, 1, 0}, {1, 0, 0}});
}

TEST_CASE("GRPO normalises within each group") {
  // Group 1 [1, 2, 3]: mean 2, unbiased std 1 → [−1, 0, 1]/(1 + 1e-6).
  // Group 2 [4, 4, 4]: std 0 → all 0 (no signal when every sample scores the same).
  const at::Tensor a = Ok(GrpoAdvantages(Vec({1, 2, 3, 4, 4, 4}), Mask(), 3));
  const double s = 1.0 / (1.0 + 1e-6);
  CHECK(AllClose(a, Mat({{-s, -s, 0}, {0, 0, 0}, {s, s, s}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}}),
                 1e-12));
  // Without the std: a_i = s_i − mean_g = [−2, 0, 2] for group [0, 2, 4].
  const at::Tensor b =
      Ok(GrpoAdvantages(Vec({0, 2, 4, 1, 1, 1}), Mask(), 3, {.scale_by_std = false}));
  CHECK(b[0][0].item<double>() == Approx(-2.0));
  CHECK(b[2][2].item<double>() == Approx(2.0));
}

TEST_CASE("RLOO uses the leave-one-out mean as baseline") {
  // [1, 2, 3]: baselines (2+3)/2 = 2.5, (1+3)/2 = 2, (1+2)/2 = 1.5 → a = [−1.5, 0, 1.5]
  // (= n/(n−1)·(s − mean) = 1.5·[−1, 0, 1]).
  const at::Tensor a = Ok(RlooAdvantages(Vec({1, 2, 3, 0, 0, 6}), Mask(), 3));
  CHECK(a[0][0].item<double>() == Approx(-1.5));
  CHECK(a[0][2].item<double>() == 0.0);  // padding
  CHECK(a[1][0].item<double>() == Approx(0.0));
  CHECK(a[2][2].item<double>() == Approx(1.5));
  // [0, 0, 6]: baselines 3, 3, 0 → [−3, −3, 6].
  CHECK(a[3][0].item<double>() == Approx(-3.0));
  CHECK(a[5][0].item<double>() == Approx(6.0));
}

TEST_CASE("Group estimators check the group layout") {
  CHECK(testing::IsInvalidNaming(GrpoAdvantages(Vec({1, 2, 3, 4, 5, 6}), Mask(), 4).status(),
                                 "group_size"));
  CHECK(testing::IsInvalidNaming(RlooAdvantages(Vec({1, 2, 3, 4, 5, 6}), Mask(), 1).status(),
                                 "group_size"));
  CHECK(testing::IsInvalidNaming(RlooAdvantages(Vec({1, 2, 3}), Mask(), 3).status(), "mask"));
}

TEST_CASE("Padding never changes GRPO or RLOO advantages") {
  const at::Tensor scores = Vec({0.3, -1.0, 2.0, 0.5, 0.5, 1.5});
  const at::Tensor wide = Mat({{1, 1, 0, 0, 0}, {1, 0, 0, 0, 0}, {1, 1, 1, 0, 0},
                               {1, 1, 1, 0, 0}, {1, 1, 0, 0, 0}, {1, 0, 0, 0, 0}});
  const at::Tensor narrow_grpo = Ok(GrpoAdvantages(scores, Mask(), 3));
  const at::Tensor wide_grpo = Ok(GrpoAdvantages(scores, wide, 3));
  CHECK(AllClose(wide_grpo.narrow(1, 0, 3), narrow_grpo, 0));
  const at::Tensor narrow_rloo = Ok(RlooAdvantages(scores, Mask(), 3));
  CHECK(AllClose(Ok(RlooAdvantages(scores, wide, 3)).narrow(1, 0, 3), narrow_rloo, 0));
}

TEST_CASE("REINFORCE++ whitens the token returns over the batch") {
  // Row 0: r = [0.5, 1] → G = [1.5, 1]. Row 1: r = [2, pad] → G = [2].
  // Real returns {1.5, 1, 2}: μ = 1.5, σ² = (0 + 0.25 + 0.25)/3 = 1/6, σ = 0.408248
  // → a = [0, −1.224745, 1.224745].
  const double nan = std::nan("");
  const at::Tensor a =
      Ok(ReinforcePlusPlusAdvantages(Mat({{0.5, 1.0}, {2.0, nan}}), Mat({{1, 1}, {1, 0}})));
  CHECK(AllClose(a, Mat({{0.0, -1.2247448714}, {1.2247448714, 0.0}}), 1e-7));
}

}  // namespace
}  // namespace rein::rl
