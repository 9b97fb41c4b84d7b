#include "common/eval/version_ratings.h"

#include <cmath>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"

namespace rein::eval {
namespace {

VersionRatingOptions MaximumLikelihood() {
  VersionRatingOptions o;
  o.prior_games = 0;
  o.bootstrap_samples = 0;
  return o;
}

std::vector<Comparison> Games(int first, int second, int first_wins, int second_wins,
                              int ties = 0) {
  std::vector<Comparison> games;
  for (int i = 0; i < first_wins; ++i) games.push_back({first, second, 1.0});
  for (int i = 0; i < second_wins; ++i) games.push_back({first, second, 0.0});
  for (int i = 0; i < ties; ++i) games.push_back({first, second, 0.5});
  return games;
}

TEST_CASE("two versions: the strength ratio is the ratio of wins, ties counting half") {
  // Version 1 wins 3 of 4: s1/s0 = 3, so 400·log10(3) = 190.85 Elo.
  auto three_to_one = RateVersions(2, Games(0, 1, 1, 3), MaximumLikelihood());
  REQUIRE(three_to_one.ok());
  CHECK((*three_to_one)[0].elo == 0);
  CHECK((*three_to_one)[1].elo == Approx(400 * std::log10(3.0)).epsilon(1e-8));
  CHECK((*three_to_one)[1].games == 4);
  CHECK((*three_to_one)[1].wins == 3);
  // 2 wins, 1 loss and 1 tie: 2.5 against 1.5, so s1/s0 = 5/3 (88.74 Elo).
  auto with_tie = RateVersions(2, Games(0, 1, 1, 2, 1), MaximumLikelihood());
  REQUIRE(with_tie.ok());
  CHECK((*with_tie)[1].elo == Approx(400 * std::log10(5.0 / 3.0)).epsilon(1e-8));
}

TEST_CASE("three versions: the fit recovers strengths the games were drawn to match") {
  // With s = (1, 2, 4) the expected wins are exactly these counts (A-B 1:2 of 3, B-C 1:2 of 3,
  // A-C 1:4 of 5), so the maximum-likelihood strengths are (1, 2, 4): 0, 120.41, 240.82 Elo.
  std::vector<Comparison> games = Games(0, 1, 1, 2);
  for (const Comparison& c : Games(1, 2, 1, 2)) games.push_back(c);
  for (const Comparison& c : Games(0, 2, 1, 4)) games.push_back(c);
  auto table = RateVersions(3, games, MaximumLikelihood());
  REQUIRE(table.ok());
  CHECK((*table)[1].elo == Approx(400 * std::log10(2.0)).epsilon(1e-7));
  CHECK((*table)[2].elo == Approx(400 * std::log10(4.0)).epsilon(1e-7));
}

TEST_CASE("the prior keeps a clean sweep finite and pulls towards the middle") {
  // Version 1 won all 5: no finite maximum-likelihood rating; with one virtual tie each it is
  // finite and positive.
  auto sweep = RateVersions(2, Games(0, 1, 0, 5), {.prior_games = 1, .bootstrap_samples = 0});
  REQUIRE(sweep.ok());
  CHECK(std::isfinite((*sweep)[1].elo));
  CHECK((*sweep)[1].elo > 0);
  // An unconnected version with no games sits at version 0's rating.
  auto lonely = RateVersions(3, Games(0, 1, 2, 2), {.prior_games = 1, .bootstrap_samples = 0});
  REQUIRE(lonely.ok());
  CHECK((*lonely)[2].elo == Approx(0).margin(1e-6));
  CHECK((*lonely)[2].games == 0);
}

TEST_CASE("bootstrap intervals hold the estimate, shrink with more games, and repeat by seed") {
  const VersionRatingOptions o{.prior_games = 1, .bootstrap_samples = 400, .seed = 7};
  auto few = RateVersions(2, Games(0, 1, 4, 8), o);
  auto many = RateVersions(2, Games(0, 1, 40, 80), o);
  REQUIRE(few.ok());
  REQUIRE(many.ok());
  for (const auto* t : {&*few, &*many}) {
    CHECK((*t)[1].low < (*t)[1].elo);
    CHECK((*t)[1].elo < (*t)[1].high);
    CHECK((*t)[0].low == 0);  // version 0 is the anchor in every resample
    CHECK((*t)[0].high == 0);
  }
  CHECK((*many)[1].high - (*many)[1].low < 0.6 * ((*few)[1].high - (*few)[1].low));
  auto again = RateVersions(2, Games(0, 1, 4, 8), o);
  REQUIRE(again.ok());
  CHECK((*again)[1].low == (*few)[1].low);
  CHECK((*again)[1].high == (*few)[1].high);
}

TEST_CASE("bad input is named") {
  CHECK(absl::IsInvalidArgument(RateVersions(0, {}).status()));
  auto outside = RateVersions(2, {{0, 1, 1.0}, {0, 2, 1.0}});
  CHECK(absl::StartsWith(outside.status().message(), "comparisons[1]"));
  CHECK(absl::IsInvalidArgument(RateVersions(2, {{1, 1, 0.5}}).status()));
  CHECK(absl::IsInvalidArgument(RateVersions(2, {{0, 1, 1.5}}).status()));
  CHECK(absl::IsInvalidArgument(RateVersions(2, {}, {.confidence = 1.0}).status()));
  auto empty = RateVersions(3, {});
  REQUIRE(empty.ok());
  CHECK((*empty)[2].elo == 0);
}

}  // namespace
}  // namespace rein::eval
