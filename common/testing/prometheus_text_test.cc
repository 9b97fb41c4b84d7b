#include "common/testing/prometheus_text.h"

#include <catch2/catch.hpp>

namespace rein::testing {
namespace {

TEST_CASE("a well-formed exposition page parses into families and samples") {
  const std::string page =
      "# HELP rein_calls_total Calls.\n"
      "# TYPE rein_calls_total counter\n"
      "rein_calls_total{method=\"a/B\",code=\"OK\"} 3\n"
      "# TYPE rein_latency_seconds histogram\n"
      "rein_latency_seconds_bucket{le=\"0.1\"} 1\n"
      "rein_latency_seconds_bucket{le=\"+Inf\"} 2\n"
      "rein_latency_seconds_sum 0.25 1700000000000\n"
      "rein_latency_seconds_count 2\n";
  auto parsed = ParsePrometheusText(page);
  REQUIRE(parsed.ok());
  CHECK(parsed->families.at("rein_calls_total").type == "counter");
  CHECK(parsed->families.at("rein_calls_total").help == "Calls.");
  CHECK(parsed->Find("rein_calls_total", {{"code", "OK"}}) == 3.0);
  CHECK(parsed->Find("rein_latency_seconds_bucket", {{"le", "+Inf"}}) == 2.0);
  CHECK(parsed->Find("rein_latency_seconds_sum") == 0.25);
  CHECK_FALSE(parsed->Find("rein_calls_total", {{"code", "CANCELLED"}}).has_value());
}

TEST_CASE("malformed exposition lines are rejected with their line number") {
  auto check_rejected = [](const std::string& page, const std::string& line_tag) {
    auto parsed = ParsePrometheusText(page);
    REQUIRE_FALSE(parsed.ok());
    CHECK(std::string(parsed.status().message()).find(line_tag) != std::string::npos);
  };
  check_rejected("9bad_name 1\n", "line 1");
  check_rejected("ok 1\nname{label=unquoted} 1\n", "line 2");
  check_rejected("name one\n", "bad value");
  check_rejected("# TYPE a counter\n# TYPE a gauge\n", "duplicate TYPE");
  check_rejected("# TYPE a counter\na_bucket{le=\"1\"} 1\n", "suffix");
  check_rejected("# TYPE a sometype\n", "unknown TYPE");
}

}  // namespace
}  // namespace rein::testing
