// The experiment config (common/config): any YAML document either parses or is INVALID_ARGUMENT,
// and a config that parses renders (ExperimentConfigYaml) to YAML that parses back equal.
#include <cstddef>
#include <cstdint>

#include "common/config/experiment_config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rein::config::ExperimentConfig;
  absl::StatusOr<ExperimentConfig> config =
      rein::config::ParseExperimentConfig(rein::fuzz::AsText(data, size), "fuzz.yaml");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const std::string yaml = rein::config::ExperimentConfigYaml(*config);
  absl::StatusOr<ExperimentConfig> again = rein::config::ParseExperimentConfig(yaml, "again.yaml");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *config);
  return 0;
}
