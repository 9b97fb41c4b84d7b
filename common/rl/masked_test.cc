#include "common/rl/masked.h"

#include <ATen/ops/full.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros_like.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "common/rl/internal/test_util.h"
#include "common/rl/internal/validate.h"

namespace rein::rl {
namespace {

using testing::Item;
using testing::Mat;
using testing::Ok;
using testing::Vec;

at::Tensor X() { return Mat({{1, 2, 3}, {4, 5, 6}}); }
at::Tensor M() { return Mat({{1, 1, 0}, {1, 0, 0}}); }

TEST_CASE("MaskedMean averages real entries only") {
  // Σ x·m / Σ m = (1 + 2 + 4) / 3.
  CHECK(Item(Ok(MaskedMean(X(), M()))) == Approx(7.0 / 3.0));
  CHECK(Item(Ok(MaskedMean(X(), M().to(at::kBool)))) == Approx(7.0 / 3.0));
  CHECK_FALSE(MaskedMean(X(), at::zeros_like(M())).ok());
}

TEST_CASE("MaskedVariance population and unbiased") {
  // Real values 1, 2, 4; μ = 7/3; Σ(x − μ)² = 16/9 + 1/9 + 25/9 = 14/3.
  CHECK(Item(Ok(MaskedVariance(X(), M()))) == Approx(14.0 / 9.0));        // / n
  CHECK(Item(Ok(MaskedVariance(X(), M(), true))) == Approx(14.0 / 6.0));  // / (n − 1)
  CHECK_FALSE(MaskedVariance(Vec({1.0}), Vec({1.0}), true).ok());
}

TEST_CASE("MaskedWhiten by hand") {
  // x = [1, 3]: μ = 2, σ² = 1 → (x − μ)/sqrt(σ² + eps) = [−1, 1]; padding → 0.
  const at::Tensor w = Ok(MaskedWhiten(Mat({{1, 3, 100}}), Mat({{1, 1, 0}})));
  CHECK(w[0][0].item<double>() == Approx(-1.0));
  CHECK(w[0][1].item<double>() == Approx(1.0));
  CHECK(w[0][2].item<double>() == 0.0);
  // shift_mean = false adds μ back: (x − μ)/σ + μ = [1, 3].
  WhitenOptions keep_mean;
  keep_mean.shift_mean = false;
  const at::Tensor s = Ok(MaskedWhiten(Mat({{1, 3}}), Mat({{1, 1}}), keep_mean));
  CHECK(s[0][0].item<double>() == Approx(1.0));
  CHECK(s[0][1].item<double>() == Approx(3.0));
}

TEST_CASE("MaskedWhiten gives zero mean and unit variance over the mask") {
  const at::Tensor x = at::randn({6, 9}, at::kDouble) * 3 + 2;
  const at::Tensor mask = at::rand({6, 9}, at::kDouble).lt(0.6).to(at::kDouble);
  mask.select(1, 0).fill_(1);
  // Padding holds NaN: it must not leak.
  const at::Tensor dirty = x.masked_fill(mask.logical_not(), std::nan(""));
  const at::Tensor w = Ok(MaskedWhiten(dirty, mask));
  CHECK(Item(Ok(MaskedMean(w, mask))) == Approx(0.0).margin(1e-12));
  CHECK(Item(Ok(MaskedVariance(w, mask))) == Approx(1.0).epsilon(1e-6));
  CHECK(Item(w.masked_select(mask.logical_not().to(at::kBool)).abs().sum()) == 0.0);
}

TEST_CASE("Aggregate token mean and sequence mean") {
  // Token mean: (1 + 2 + 4) / 3. Sequence mean: ((1 + 2)/2 + 4/1) / 2 = 2.75.
  CHECK(Item(Ok(Aggregate(X(), M(), Aggregation::kTokenMean))) == Approx(7.0 / 3.0));
  CHECK(Item(Ok(Aggregate(X(), M(), Aggregation::kSequenceMean))) == Approx(2.75));
  // With a normalizer N = 10: Σ l·m / 10 = 0.7 and Σ_b seq_mean_b / 10 = 0.55.
  CHECK(Item(Ok(Aggregate(X(), M(), Aggregation::kTokenMean, 10))) == Approx(0.7));
  CHECK(Item(Ok(Aggregate(X(), M(), Aggregation::kSequenceMean, 10))) == Approx(0.55));
  // A sequence without real tokens does not count.
  const at::Tensor x3 = Mat({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
  const at::Tensor m3 = Mat({{1, 1, 0}, {1, 0, 0}, {0, 0, 0}});
  CHECK(Item(Ok(Aggregate(x3, m3, Aggregation::kSequenceMean))) == Approx(2.75));
  CHECK_FALSE(Aggregate(X(), at::zeros_like(M()), Aggregation::kTokenMean).ok());
}

TEST_CASE("TokenLogProbs and TokenEntropy by hand") {
  // logits [0, ln 3] → p = [1/4, 3/4].
  const at::Tensor logits = Vec({0.0, std::log(3.0)}).reshape({1, 1, 2});
  const at::Tensor token1 = at::full({1, 1}, 1, at::kLong);
  CHECK(Item(Ok(TokenLogProbs(logits, token1))) == Approx(std::log(0.75)));
  // H = −(¼ ln ¼ + ¾ ln ¾) = 0.562335.
  CHECK(Item(Ok(TokenEntropy(logits))) == Approx(0.5623351446));
  // A -inf logit (a banned token) gives 0·log 0 = 0, not NaN: H of [½, ½, 0] = ln 2.
  const at::Tensor banned =
      Vec({0.0, 0.0, -std::numeric_limits<double>::infinity()}).reshape({1, 1, 3});
  CHECK(Item(Ok(TokenEntropy(banned))) == Approx(std::log(2.0)));
  CHECK(testing::IsInvalidNaming(TokenLogProbs(logits, at::full({1, 1}, 2, at::kLong)).status(),
                                 "tokens"));
  CHECK(testing::IsInvalidNaming(TokenLogProbs(logits, at::full({1, 2}, 0, at::kLong)).status(),
                                 "tokens"));
}

TEST_CASE("SequenceLogProbs sums or averages real tokens") {
  const at::Tensor lp = Mat({{-1, -2, -3}});
  const at::Tensor m = Mat({{1, 1, 0}});
  CHECK(Item(Ok(SequenceLogProbs(lp, m))) == Approx(-3.0));        // Σ lp·m
  CHECK(Item(Ok(SequenceLogProbs(lp, m, true))) == Approx(-1.5));  // Σ lp·m / Σ m
}

TEST_CASE("Masked functions reject bad arguments by name") {
  CHECK(testing::IsInvalidNaming(MaskedMean(X(), Mat({{1, 1}})).status(), "mask"));
  CHECK(testing::IsInvalidNaming(MaskedMean(X(), M() * 0.5).status(), "0 or 1"));
  CHECK(testing::IsInvalidNaming(MaskedMean(X().to(at::kLong), M()).status(), "floating"));
  CHECK(testing::IsInvalidNaming(MaskedMean(at::Tensor(), M()).status(), "x"));
  CHECK(testing::IsInvalidNaming(Aggregate(Vec({1.0}), Vec({1.0}), Aggregation::kTokenMean)
                                     .status(),
                                 "loss"));
}

TEST_CASE("LibTorch errors become Status, never exceptions") {
  const absl::Status s = internal::GuardTorch("Demo", []() -> absl::Status {
    TORCH_CHECK(false, "bad input");
    return absl::OkStatus();
  });
  CHECK(testing::IsInvalidNaming(s, "Demo: bad input"));
  // An op LibTorch itself refuses (gather with a floating index) throws c10::Error inside.
  const absl::StatusOr<at::Tensor> r = internal::GuardTorch(
      "Demo", []() -> absl::StatusOr<at::Tensor> { return Vec({1.0}).gather(0, Vec({0.0})); });
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::rl
