#include "services/feedback/quality/krippendorff.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace rein::feedback::quality {
namespace {

// Rows are coders, columns units; NaN = missing. Turned into Codings "u<column>" / "c<row>".
std::vector<Coding> FromTable(const std::vector<std::vector<double>>& rows) {
  std::vector<Coding> out;
  for (size_t c = 0; c < rows.size(); ++c) {
    for (size_t u = 0; u < rows[c].size(); ++u) {
      if (std::isnan(rows[c][u])) continue;
      out.push_back({"u" + std::to_string(u), "c" + std::to_string(c), rows[c][u]});
    }
  }
  return out;
}

constexpr double kNa = std::numeric_limits<double>::quiet_NaN();

// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with 4
// observers, 12 units and missing data. Unit 12 has a single value and is not pairable, so
// n = 40 pairable values. Published: nominal .743, ordinal .815, interval .849. The exact
// values below were recomputed independently (coincidence-matrix form, in Python).
const std::vector<std::vector<double>> kPaperTable = {
    {1, 2, 3, 3, 2, 1, 4, 1, 2, kNa, kNa, kNa},
    {1, 2, 3, 3, 2, 2, 4, 1, 2, 5, kNa, 3},
    {kNa, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, kNa},
    {1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, kNa},
};

TEST_CASE("alpha reproduces Krippendorff's 2011 worked example") {
  const std::vector<Coding> codings = FromTable(kPaperTable);
  auto nominal = ComputeKrippendorffAlpha(codings, AlphaLevel::kNominal);
  REQUIRE(nominal.ok());
  CHECK(nominal->pairable_values == 40);
  CHECK(nominal->pairable_units == 11);
  CHECK(nominal->alpha == Approx(0.743421).margin(1e-6));
  auto ordinal = KrippendorffAlpha(codings, AlphaLevel::kOrdinal);
  REQUIRE(ordinal.ok());
  CHECK(*ordinal == Approx(0.815388).margin(1e-6));
  auto interval = KrippendorffAlpha(codings, AlphaLevel::kInterval);
  REQUIRE(interval.ok());
  CHECK(*interval == Approx(0.849107).margin(1e-6));
}

TEST_CASE("alpha does not depend on the order of the codings") {
  std::vector<Coding> codings = FromTable(kPaperTable);
  std::vector<Coding> reversed(codings.rbegin(), codings.rend());
  CHECK(*KrippendorffAlpha(reversed, AlphaLevel::kOrdinal) ==
        *KrippendorffAlpha(codings, AlphaLevel::kOrdinal));
}

TEST_CASE("perfect agreement is 1 at every level") {
  // Two units, both coders agree on each; the values vary across units, so D_e > 0.
  const auto codings = FromTable({{1, 2, 4}, {1, 2, 4}});
  for (AlphaLevel level : {AlphaLevel::kNominal, AlphaLevel::kOrdinal, AlphaLevel::kInterval}) {
    auto alpha = KrippendorffAlpha(codings, level);
    REQUIRE(alpha.ok());
    CHECK(*alpha == Approx(1.0));
  }
}

TEST_CASE("hand-worked binary case: 4/9 at every level") {
  // Units (1,1), (1,2), (2,2); n = 6, n_1 = n_2 = 3.
  // Coincidences: o_11 = 2, o_12 = o_21 = 1, o_22 = 2.
  // Nominal:  D_o = (o_12 + o_21) / n = 2/6;  D_e = 2 n_1 n_2 / (n (n-1)) = 18/30;
  //           alpha = 1 - (1/3) / (3/5) = 4/9.
  // Ordinal:  delta_12 = (n_1 + n_2 - (n_1 + n_2)/2)^2 = 9, which scales D_o and D_e alike;
  // interval: delta_12 = 1. With two values every level gives the same alpha.
  const auto codings = FromTable({{1, 1, 2}, {1, 2, 2}});
  for (AlphaLevel level : {AlphaLevel::kNominal, AlphaLevel::kOrdinal, AlphaLevel::kInterval}) {
    CHECK(*KrippendorffAlpha(codings, level) == Approx(4.0 / 9));
  }
}

TEST_CASE("hand-worked three-value case with an unpairable unit: levels differ, alpha < 0") {
  // Units (1,3), (2,2) and (5) alone, which is dropped; n = 4, n_1 = 1, n_2 = 2, n_3 = 1.
  // Nominal:  sum o delta = 2 (the 1-3 pairs), D_o = 2/4; sum n_c n_k delta = 2 (2 + 1 + 2) = 10,
  //           D_e = 10/12; alpha = 1 - 0.5 / (5/6) = 0.4.
  // Interval: D_o = 2 * 4 / 4 = 2; D_e = 2 (1*2*1 + 1*1*4 + 2*1*1) / 12 = 16/12;
  //           alpha = 1 - 2 / (4/3) = -0.5.
  // Ordinal:  delta_12 = (1 + 2 - 1.5)^2 = 2.25, delta_23 = 2.25, delta_13 = (1+2+1 - 1)^2 = 9;
  //           D_o = 2 * 9 / 4 = 4.5; D_e = 2 (2*2.25 + 9 + 2*2.25) / 12 = 3; alpha = -0.5.
  const std::vector<Coding> codings = {
      {"u1", "x", 1}, {"u1", "y", 3}, {"u2", "x", 2}, {"u2", "y", 2}, {"u3", "x", 5}};
  auto nominal = ComputeKrippendorffAlpha(codings, AlphaLevel::kNominal);
  REQUIRE(nominal.ok());
  CHECK(nominal->pairable_values == 4);
  CHECK(nominal->alpha == Approx(0.4));
  CHECK(*KrippendorffAlpha(codings, AlphaLevel::kInterval) == Approx(-0.5));
  CHECK(*KrippendorffAlpha(codings, AlphaLevel::kOrdinal) == Approx(-0.5));
}

TEST_CASE("alpha refuses data it cannot measure") {
  SECTION("no pairable values") {
    auto alpha = KrippendorffAlpha({{"u1", "x", 1}, {"u2", "y", 2}}, AlphaLevel::kNominal);
    CHECK(alpha.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(KrippendorffAlpha({}, AlphaLevel::kNominal).status().code() ==
          absl::StatusCode::kFailedPrecondition);
  }
  SECTION("no variation: D_e = 0") {
    auto alpha = KrippendorffAlpha(FromTable({{3, 3}, {3, 3}}), AlphaLevel::kInterval);
    CHECK(alpha.status().code() == absl::StatusCode::kFailedPrecondition);
  }
  SECTION("a coder codes a unit twice") {
    auto alpha =
        KrippendorffAlpha({{"u1", "x", 1}, {"u1", "x", 2}, {"u1", "y", 1}}, AlphaLevel::kNominal);
    CHECK(alpha.status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("a non-finite value") {
    auto alpha = KrippendorffAlpha({{"u1", "x", kNa}, {"u1", "y", 1}}, AlphaLevel::kNominal);
    CHECK(alpha.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace rein::feedback::quality
