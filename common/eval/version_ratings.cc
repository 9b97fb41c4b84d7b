#include "common/eval/version_ratings.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"

namespace rein::eval {
namespace {

absl::Status Validate(int num_versions, const std::vector<Comparison>& comparisons,
                      const VersionRatingOptions& o) {
  if (num_versions < 1) {
    return absl::InvalidArgumentError(absl::StrCat("num_versions: ", num_versions, " < 1"));
  }
  if (!(o.prior_games >= 0) || !std::isfinite(o.prior_games)) {
    return absl::InvalidArgumentError("prior_games: must be a finite number >= 0");
  }
  if (o.bootstrap_samples < 0) {
    return absl::InvalidArgumentError("bootstrap_samples: must be >= 0");
  }
  if (!(o.confidence > 0 && o.confidence < 1)) {
    return absl::InvalidArgumentError("confidence: must be in (0, 1)");
  }
  if (!(o.tolerance > 0) || o.max_iterations < 1) {
    return absl::InvalidArgumentError("tolerance and max_iterations: must be positive");
  }
  for (size_t i = 0; i < comparisons.size(); ++i) {
    const Comparison& c = comparisons[i];
    const std::string field = absl::StrCat("comparisons[", i, "]");
    if (c.first < 0 || c.first >= num_versions || c.second < 0 || c.second >= num_versions) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": versions ", c.first, " and ",
                                                     c.second, " must be in 0..",
                                                     num_versions - 1));
    }
    if (c.first == c.second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": version ", c.first,
                                                     " compared with itself"));
    }
    if (!(c.outcome >= 0 && c.outcome <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": outcome must be in [0, 1]"));
    }
  }
  return absl::OkStatus();
}

// Elo of every version relative to version 0 for one set of comparisons (MM iteration).
std::vector<double> Fit(int n, const std::vector<const Comparison*>& games,
                        const VersionRatingOptions& o) {
  // wins[i], and games[i][j] (symmetric), with the prior's virtual ties against a fixed
  // opponent of strength 1 kept apart (it never moves).
  std::vector<double> wins(n, 0.5 * o.prior_games);
  std::vector<std::vector<double>> played(n, std::vector<double>(n, 0.0));
  for (const Comparison* c : games) {
    wins[c->first] += c->outcome;
    wins[c->second] += 1.0 - c->outcome;
    played[c->first][c->second] += 1;
    played[c->second][c->first] += 1;
  }
  std::vector<double> s(n, 1.0);
  for (int iteration = 0; iteration < o.max_iterations; ++iteration) {
    double moved = 0;
    std::vector<double> next(n);
    for (int i = 0; i < n; ++i) {
      double denominator = o.prior_games / (s[i] + 1.0);
      for (int j = 0; j < n; ++j) {
        if (played[i][j] > 0) denominator += played[i][j] / (s[i] + s[j]);
      }
      // No games and no prior: nothing to learn; stays where it is.
      next[i] = denominator > 0 ? wins[i] / denominator : s[i];
      // A version that never won (with prior 0) would go to 0: keep it tiny, not zero.
      next[i] = std::max(next[i], 1e-300);
      moved = std::max(moved, std::abs(next[i] - s[i]) / s[i]);
    }
    // Without the prior's fixed opponent nothing pins the scale (c·s fits as well as s).
    if (o.prior_games == 0) {
      const double scale = next.at(0);  // n >= 1 (checked); at() also tells GCC
      for (double& x : next) x /= scale;
    }
    s = std::move(next);
    if (moved < o.tolerance) break;
  }
  std::vector<double> elo(n);
  for (int i = 0; i < n; ++i) elo[i] = 400.0 * std::log10(s[i] / s[0]);
  return elo;
}

double Quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(values.size() - 1, below + 1);
  const double t = position - static_cast<double>(below);
  return values[below] * (1 - t) + values[above] * t;
}

}  // namespace

absl::StatusOr<std::vector<VersionRating>> RateVersions(int num_versions,
                                                        const std::vector<Comparison>& comparisons,
                                                        const VersionRatingOptions& options) {
  if (absl::Status s = Validate(num_versions, comparisons, options); !s.ok()) return s;
  std::vector<const Comparison*> all;
  all.reserve(comparisons.size());
  for (const Comparison& c : comparisons) all.push_back(&c);
  const std::vector<double> elo = Fit(num_versions, all, options);

  std::vector<VersionRating> table(num_versions);
  for (int v = 0; v < num_versions; ++v) table[v].elo = table[v].low = table[v].high = elo[v];
  for (const Comparison& c : comparisons) {
    ++table[c.first].games;
    ++table[c.second].games;
    table[c.first].wins += c.outcome;
    table[c.second].wins += 1.0 - c.outcome;
  }
  if (options.bootstrap_samples == 0 || comparisons.empty()) return table;

  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<size_t> pick(0, comparisons.size() - 1);
  std::vector<std::vector<double>> samples(num_versions);
  std::vector<const Comparison*> resample(comparisons.size());
  for (int b = 0; b < options.bootstrap_samples; ++b) {
    for (const Comparison*& c : resample) c = &comparisons[pick(rng)];
    const std::vector<double> e = Fit(num_versions, resample, options);
    for (int v = 0; v < num_versions; ++v) samples[v].push_back(e[v]);
  }
  const double tail = (1.0 - options.confidence) / 2;
  for (int v = 0; v < num_versions; ++v) {
    table[v].low = Quantile(samples[v], tail);
    table[v].high = Quantile(samples[v], 1.0 - tail);
  }
  return table;
}

}  // namespace rein::eval
