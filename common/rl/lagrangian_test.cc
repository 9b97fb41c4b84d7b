#include "common/rl/lagrangian.h"

#include <cmath>

#include <catch2/catch.hpp>

namespace rein::rl {
namespace {

TEST_CASE("the multiplier follows the log-space ascent step, worked by hand") {
  auto m = LagrangeMultiplier::Create(
      {.cost_limit = 0.2, .initial_lambda = 1.0, .learning_rate = 0.1});
  REQUIRE(m.ok());
  // Over the limit by 0.3: log λ = 0 + 0.1 · 0.3 · 1 = 0.03, λ = e^0.03 = 1.0304545.
  auto violation = m->Update(0.5);
  REQUIRE(violation.ok());
  CHECK(*violation == Approx(0.3));
  CHECK(m->lambda() == Approx(std::exp(0.03)).epsilon(1e-12));
  // Under by 0.1: log λ = 0.03 − 0.1 · 0.1 · 1.0304545 = 0.0196955, λ = 1.0198907.
  REQUIRE(m->Update(0.1).ok());
  CHECK(m->lambda() == Approx(std::exp(0.03 - 0.01 * std::exp(0.03))).epsilon(1e-12));
  CHECK(m->lambda() == Approx(1.0198907).epsilon(1e-6));
}

TEST_CASE("the shaped reward, normalised by 1 + lambda or not") {
  auto m = LagrangeMultiplier::Restore({.normalize = true}, 1.5);
  REQUIRE(m.ok());
  CHECK(m->Shaped(2.0, 1.0) == Approx((2.0 - 1.5) / 2.5));
  auto raw = LagrangeMultiplier::Restore({.normalize = false}, 1.5);
  REQUIRE(raw.ok());
  CHECK(raw->Shaped(2.0, 1.0) == Approx(0.5));
}

TEST_CASE("lambda rises under sustained violation up to its cap, falls when the limit holds") {
  auto m = LagrangeMultiplier::Create({.cost_limit = 0.1, .learning_rate = 0.5, .max_lambda = 4});
  REQUIRE(m.ok());
  for (int i = 0; i < 50; ++i) REQUIRE(m->Update(0.9).ok());
  CHECK(m->lambda() == 4.0);
  for (int i = 0; i < 50; ++i) REQUIRE(m->Update(0.0).ok());
  CHECK(m->lambda() < 1.0);
  CHECK(m->lambda() > 0.0);
}

TEST_CASE("bad options and costs are named and leave lambda alone") {
  CHECK(absl::IsInvalidArgument(LagrangeMultiplier::Create({.initial_lambda = 0}).status()));
  CHECK(absl::IsInvalidArgument(LagrangeMultiplier::Create({.learning_rate = -1}).status()));
  CHECK(absl::IsInvalidArgument(
      LagrangeMultiplier::Create({.initial_lambda = 5, .max_lambda = 2}).status()));
  CHECK(absl::IsInvalidArgument(LagrangeMultiplier::Restore({}, std::nan("")).status()));
  auto m = LagrangeMultiplier::Create({});
  REQUIRE(m.ok());
  CHECK(absl::IsInvalidArgument(m->Update(INFINITY).status()));
  CHECK(m->lambda() == 1.0);
}

}  // namespace
}  // namespace rein::rl
