// Krippendorff's alpha: chance-corrected agreement among any number of coders, tolerating
// missing values (not every coder codes every unit).
//
//   alpha = 1 - D_o / D_e
//
// with D_o the observed disagreement within units and D_e the disagreement expected when the
// same values are paired at random. Follows Krippendorff, "Computing Krippendorff's
// Alpha-Reliability" (2011): values are counted through the coincidence matrix, each unit with
// m_u values contributing m_u (m_u - 1) ordered pairs weighted 1 / (m_u - 1), so that every
// pairable value counts once. Units with fewer than 2 values are not pairable and are dropped.
//
// Pure functions, no state; safe to call from any thread.
#ifndef REIN_SERVICES_FEEDBACK_QUALITY_KRIPPENDORFF_H_
#define REIN_SERVICES_FEEDBACK_QUALITY_KRIPPENDORFF_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::feedback::quality {

// The level of measurement, which picks the difference function delta^2(c, k).
enum class AlphaLevel {
  kNominal,   // 0 if c == k, else 1 (exact comparison of the doubles)
  kOrdinal,   // (sum_{g between c and k} n_g - (n_c + n_k) / 2)^2, n_g = marginal frequency
  kInterval,  // (c - k)^2
};

// One value that `coder` assigned to `unit`. A coder codes a unit at most once.
struct Coding {
  std::string unit;
  std::string coder;
  double value = 0;
};

// alpha together with the counts behind it, for reports.
struct AlphaResult {
  double alpha = 0;
  int pairable_values = 0;           // n: values in units with at least 2 values
  int pairable_units = 0;            // units with at least 2 values
  double observed_disagreement = 0;  // D_o
  double expected_disagreement = 0;  // D_e, > 0 whenever a result is returned
};

// Errors:
//   INVALID_ARGUMENT    a value is NaN or infinite, or a coder codes one unit twice;
//   FAILED_PRECONDITION fewer than 2 pairable values, or D_e == 0: every pairable value is the
//                       same, so there is no variation against which agreement could be told
//                       from chance. alpha is undefined there (0/0); we return this error rather
//                       than 1 or NaN so that a caller cannot mistake it for a measurement.
//                       (Observed agreement is then perfect; report that separately if needed.)
absl::StatusOr<AlphaResult> ComputeKrippendorffAlpha(const std::vector<Coding>& codings,
                                                     AlphaLevel level);

// ComputeKrippendorffAlpha(...).alpha.
absl::StatusOr<double> KrippendorffAlpha(const std::vector<Coding>& codings, AlphaLevel level);

}  // namespace rein::feedback::quality

#endif  // REIN_SERVICES_FEEDBACK_QUALITY_KRIPPENDORFF_H_
