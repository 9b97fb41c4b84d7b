#include "common/rl/lagrangian.h"

#include <cmath>

#include <catch2/catch.hpp>

namespace rein::rl {
namespace {

TEST_CASE("the multiplier follows the log-space ascent step, worked by hand") {
  auto m = LagrangeMultiplier::Create(
      {.cost_limit = 0.2, .initial_lambda = 2.0, .learning_rate = 0.1});
  REQUIRE(m.ok());
  // Over the limit by 0.3: log λ = ln 2 + 0.1 · 0.3 = 0.7231472, λ = 2 e^0.03 = 2.0609091.
  auto violation = m->Update(0.5);
  REQUIRE(violation.ok());
  CHECK(*violation == Approx(0.3));
  CHECK(m->lambda() == Approx(2.0609091).epsilon(1e-7));
  // Under by 0.1: log λ = 0.7231472 − 0.01 = 0.7131472, λ = 2 e^0.02 = 2.0404027.
  REQUIRE(m->Update(0.1).ok());
  CHECK(m->lambda() == Approx(2.0404027).epsilon(1e-7));
}

TEST_CASE("a lasting violation grows lambda geometrically, never past its ceiling") {
  // The quickstart's case that once overflowed: a violation of 0.24 every iteration.
  auto m = LagrangeMultiplier::Create({.cost_limit = -2.0, .learning_rate = 0.1});
  REQUIRE(m.ok());
  for (int i = 0; i < 30; ++i) REQUIRE(m->Update(-1.76).ok());
  CHECK(m->lambda() == Approx(std::exp(30 * 0.1 * 0.24)).epsilon(1e-9));  // 2.05
  for (int i = 0; i < 100000; ++i) REQUIRE(m->Update(1e300).ok());
  CHECK(m->lambda() == Approx(kLambdaCeiling).epsilon(1e-12));
  CHECK(m->lambda() <= kLambdaCeiling);
  CHECK(std::isfinite(m->Shaped(1.0, 1e3)));
  CHECK(absl::IsInvalidArgument(LagrangeMultiplier::Create({.initial_lambda = 2e6}).status()));
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
