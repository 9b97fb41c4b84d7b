#include "services/feedback/quality/krippendorff.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rein::feedback::quality {
namespace {

// delta^2 between distinct-value indices c and k. `values` are the sorted distinct values,
// `cumulative[i]` the sum of marginal frequencies n_g of values[0..i-1] (for the ordinal metric).
double Delta2(AlphaLevel level, const std::vector<double>& values,
              const std::vector<double>& frequency, const std::vector<double>& cumulative, size_t c,
              size_t k) {
  if (c == k) return 0;
  switch (level) {
    case AlphaLevel::kNominal:
      return 1;
    case AlphaLevel::kOrdinal: {
      const size_t lo = std::min(c, k);
      const size_t hi = std::max(c, k);
      // Ranks are what matters, not the values: the distance is how many coded values lie
      // between c and k, counting the two ends half each.
      const double between =
          cumulative[hi + 1] - cumulative[lo] - (frequency[c] + frequency[k]) / 2;
      return between * between;
    }
    case AlphaLevel::kInterval: {
      const double d = values[c] - values[k];
      return d * d;
    }
  }
  return 0;
}

}  // namespace

absl::StatusOr<AlphaResult> ComputeKrippendorffAlpha(const std::vector<Coding>& codings,
                                                     AlphaLevel level) {
  // unit -> coder -> value. Ordered maps keep the summation order, and so the result,
  // independent of input order.
  std::map<std::string, std::map<std::string, double>> units;
  for (const Coding& coding : codings) {
    if (!std::isfinite(coding.value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("non-finite value for unit '", coding.unit, "'"));
    }
    auto [it, inserted] = units[coding.unit].emplace(coding.coder, coding.value);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("coder '", coding.coder, "' codes unit '", coding.unit, "' twice"));
    }
  }

  // Distinct values over pairable units only: an unpairable value takes no part in alpha.
  std::vector<double> values;
  for (const auto& [unit, by_coder] : units) {
    if (by_coder.size() < 2) continue;
    for (const auto& [coder, value] : by_coder) values.push_back(value);
  }
  AlphaResult result;
  result.pairable_values = static_cast<int>(values.size());
  if (values.size() < 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("Krippendorff's alpha needs at least 2 pairable values, got ", values.size()));
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  auto index_of = [&values](double v) {
    return static_cast<size_t>(std::lower_bound(values.begin(), values.end(), v) - values.begin());
  };

  // Per pairable unit: its value indices. Marginals n_c of the coincidence matrix equal the
  // plain counts of pairable values (each unit's row sums to m_u (m_u - 1) / (m_u - 1)).
  const size_t v = values.size();
  std::vector<double> frequency(v, 0);
  std::vector<std::vector<size_t>> unit_values;
  for (const auto& [unit, by_coder] : units) {
    if (by_coder.size() < 2) continue;
    std::vector<size_t>& indices = unit_values.emplace_back();
    for (const auto& [coder, value] : by_coder) {
      indices.push_back(index_of(value));
      frequency[indices.back()] += 1;
    }
  }
  result.pairable_units = static_cast<int>(unit_values.size());
  std::vector<double> cumulative(v + 1, 0);
  for (size_t i = 0; i < v; ++i) cumulative[i + 1] = cumulative[i] + frequency[i];
  const double n = cumulative[v];

  // Observed: sum over units of sum over ordered pairs of delta^2 / (m_u - 1), divided by n.
  double observed = 0;
  for (const std::vector<size_t>& indices : unit_values) {
    double unit_sum = 0;
    for (size_t i = 0; i < indices.size(); ++i) {
      for (size_t j = 0; j < indices.size(); ++j) {
        if (i != j)
          unit_sum += Delta2(level, values, frequency, cumulative, indices[i], indices[j]);
      }
    }
    observed += unit_sum / static_cast<double>(indices.size() - 1);
  }
  // Expected: sum over value pairs n_c n_k delta^2, divided by n (n - 1).
  double expected = 0;
  for (size_t c = 0; c < v; ++c) {
    for (size_t k = 0; k < v; ++k) {
      expected += frequency[c] * frequency[k] * Delta2(level, values, frequency, cumulative, c, k);
    }
  }
  result.observed_disagreement = observed / n;
  result.expected_disagreement = expected / (n * (n - 1));
  if (!(result.expected_disagreement > 0)) {
    return absl::FailedPreconditionError(
        "Krippendorff's alpha is undefined: every pairable value is the same (D_e = 0)");
  }
  result.alpha = 1 - result.observed_disagreement / result.expected_disagreement;
  return result;
}

absl::StatusOr<double> KrippendorffAlpha(const std::vector<Coding>& codings, AlphaLevel level) {
  absl::StatusOr<AlphaResult> result = ComputeKrippendorffAlpha(codings, level);
  if (!result.ok()) return result.status();
  return result->alpha;
}

}  // namespace rein::feedback::quality
