// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests that
// check a /metrics page is well formed and read values from it.
#ifndef REIN_COMMON_TESTING_PROMETHEUS_TEXT_H_
#define REIN_COMMON_TESTING_PROMETHEUS_TEXT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct MetricFamilyInfo {
  std::string help;
  std::string type;  // counter, gauge, histogram, summary, untyped
};

struct PrometheusPage {
  std::map<std::string, MetricFamilyInfo> families;
  std::vector<Sample> samples;

  // The value of the sample with this name whose labels include `labels`; nullopt if none.
  std::optional<double> Find(const std::string& name,
                             const std::map<std::string, std::string>& labels = {}) const;
};

// Fails with INVALID_ARGUMENT naming the line for: malformed names, labels or values, a sample
// whose family was declared with a TYPE that does not allow its suffix, duplicate TYPE lines.
absl::StatusOr<PrometheusPage> ParsePrometheusText(const std::string& text);

}  // namespace rein::testing

#endif  // REIN_COMMON_TESTING_PROMETHEUS_TEXT_H_
