#include "services/coordinator/safety.h"

#include <catch2/catch.hpp>
#include <cmath>

namespace rein::coordinator {
namespace {

// Two samples: rewards 1 and 2, costs 2 and −1 (mean cost 0.5).
std::vector<Sample> TwoSamples() {
  std::vector<Sample> samples(2);
  samples[0].reward = 1;
  samples[0].cost = 2;
  samples[1].reward = 2;
  samples[1].cost = -1;
  return samples;
}

double Stat(const rein::v1::Stats& stats, const char* name) { return stats.values().at(name); }

TEST_CASE("safety off: costs are reported, rewards untouched") {
  CostShaper shaper = *CostShaper::Create({});
  std::vector<Sample> samples = TwoSamples();
  rein::v1::Stats stats;
  REQUIRE(shaper.Apply(samples, stats).ok());
  CHECK(samples[0].reward == 1);
  CHECK(samples[1].reward == 2);
  CHECK(Stat(stats, "cost/mean") == Approx(0.5));
  CHECK(stats.values().count("safety/lambda") == 0);
  CHECK_FALSE(shaper.lambda().has_value());
}

TEST_CASE("safety penalty: reward − cost_coef · cost") {
  config::SafetyConfig c;
  c.mode = config::SafetyMode::kPenalty;
  c.cost_coef = 0.5;
  CostShaper shaper = *CostShaper::Create(c);
  std::vector<Sample> samples = TwoSamples();
  rein::v1::Stats stats;
  REQUIRE(shaper.Apply(samples, stats).ok());
  CHECK(samples[0].reward == Approx(0.0));  // 1 − 0.5·2
  CHECK(samples[1].reward == Approx(2.5));  // 2 + 0.5
  CHECK(Stat(stats, "reward/unshaped_mean") == Approx(1.5));
  CHECK(Stat(stats, "safety/lambda") == 0.5);
}

TEST_CASE("safety constraint: Safe RLHF shaping, then one multiplier step") {
  config::SafetyConfig c;
  c.mode = config::SafetyMode::kConstraint;
  c.cost_limit = 0;
  c.lambda_init = 1;
  c.lambda_lr = 0.1;
  CostShaper shaper = *CostShaper::Create(c);
  std::vector<Sample> samples = TwoSamples();
  rein::v1::Stats stats;
  REQUIRE(shaper.Apply(samples, stats).ok());
  // λ = 1: (1 − 2)/2 = −0.5 and (2 + 1)/2 = 1.5.
  CHECK(samples[0].reward == Approx(-0.5));
  CHECK(samples[1].reward == Approx(1.5));
  // Mean cost 0.5 over a limit of 0: log λ ← 0 + 0.1 · 0.5 · 1, λ = e^0.05.
  CHECK(Stat(stats, "safety/violation") == Approx(0.5));
  CHECK(Stat(stats, "safety/lambda") == 1.0);
  CHECK(Stat(stats, "safety/lambda_next") == Approx(std::exp(0.05)));
  CHECK(*shaper.lambda() == Approx(std::exp(0.05)));
  // A resumed run continues from its checkpointed λ.
  CostShaper resumed = *CostShaper::Create(c, 3.0);
  samples = TwoSamples();
  REQUIRE(resumed.Apply(samples, stats).ok());
  CHECK(samples[0].reward == Approx((1.0 - 3.0 * 2.0) / 4.0));
  CHECK(CostShaper::Create(c, -1.0).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("safety: shaping without a cost is refused, naming the cause") {
  config::SafetyConfig c;
  c.mode = config::SafetyMode::kPenalty;
  CostShaper shaper = *CostShaper::Create(c);
  std::vector<Sample> samples = TwoSamples();
  samples[1].cost.reset();
  rein::v1::Stats stats;
  absl::Status status = shaper.Apply(samples, stats);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(status.message()), Catch::Contains("1 of 2") &&
                                                Catch::Contains("model.cost_model"));
  CHECK(samples[0].reward == 1);  // nothing changed
}

}  // namespace
}  // namespace rein::coordinator
