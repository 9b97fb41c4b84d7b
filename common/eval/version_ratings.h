// Ratings of policy versions from pairwise judgements between their responses, for comparing
// each round's policy with the ones before it: a Bradley–Terry fit, P(i beats j) =
// s_i / (s_i + s_j), reported on the Elo scale (400·log10 s) relative to the first version
// (version 0, e.g. the SFT policy), with percentile-bootstrap confidence intervals.
//
//   std::vector<Comparison> games = {{0, 1, 0.0}, {0, 1, 1.0}, {1, 2, 0.5}};  // 1 = first won
//   ASSIGN_OR_RETURN(std::vector<VersionRating> table, RateVersions(3, games, {}));
//   // table[2].elo, table[2].low, table[2].high: version 2 against version 0, in Elo points
//
// The fit is the minorisation–maximisation iteration of Hunter (2004), "MM algorithms for
// generalized Bradley–Terry models", with a tie counted as half a win for each side.
//
// Thread safety: plain functions.
#ifndef REIN_COMMON_EVAL_VERSION_RATINGS_H_
#define REIN_COMMON_EVAL_VERSION_RATINGS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::eval {

// One judgement between a response of version `first` and one of version `second`.
struct Comparison {
  int first = 0;
  int second = 0;
  // 1 = first won, 0 = second won, 0.5 = tie; values between count as fractional wins.
  double outcome = 0.5;
};

struct VersionRatingOptions {
  // Virtual ties each version plays against a virtual opponent of fixed strength, so that a
  // version that won or lost every game still gets a finite rating, and one with no games sits
  // where version 0 would with none. It pulls ratings slightly towards each other. 0 = the plain
  // maximum-likelihood fit, which needs every version to have both won and lost against
  // versions connected to version 0. Default: 1.
  double prior_games = 1.0;
  // Bootstrap resamples of the comparisons for the intervals; 0 = no intervals (low = high =
  // elo). Default: 1000.
  int bootstrap_samples = 1000;
  // Two-sided coverage of the intervals, in (0, 1). Default: 0.95.
  double confidence = 0.95;
  // Seed of the resampling: the same seed gives the same intervals. Default: 1.
  uint64_t seed = 1;
  // The fit stops when no strength moves by more than `tolerance` (relative) in an iteration,
  // or after max_iterations. Defaults: 1e-10, 10000.
  double tolerance = 1e-10;
  int max_iterations = 10000;
};

struct VersionRating {
  double elo = 0;   // 400·log10(s_v / s_0); version 0 is 0 by definition
  double low = 0;   // bootstrap interval of elo
  double high = 0;
  int games = 0;    // comparisons this version took part in
  double wins = 0;  // its wins, ties counting half
};

// One rating per version 0..num_versions-1. INVALID_ARGUMENT for num_versions < 1, a bad
// option, or a comparison naming a version outside the range, a version against itself, or an
// outcome outside [0, 1] ("comparisons[i]: ...").
absl::StatusOr<std::vector<VersionRating>> RateVersions(int num_versions,
                                                        const std::vector<Comparison>& comparisons,
                                                        const VersionRatingOptions& options = {});

}  // namespace rein::eval

#endif  // REIN_COMMON_EVAL_VERSION_RATINGS_H_
