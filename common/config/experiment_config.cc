#include "common/config/experiment_config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/config/internal/experiment_config_schema.h"
#include "common/config/yaml_binder.h"
#include "common/status/status_macros.h"

namespace rein::config {
namespace {

// A config is a page or two; anything near this size is the wrong file (a dataset, a model).
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;

constexpr absl::string_view kHeader =
    "# Rein experiment config. Every key is optional; an omitted key keeps the default shown.\n"
    "# Durations take a unit: 500ms, 30s, 2m, 1h. Relative paths are relative to the working\n"
    "# directory of the process that reads them.\n\n";

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat("config file '", path, "' does not exist"));
  }
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read config file '", path, "': ", error.message()));
  }
  if (std::filesystem::is_directory(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file '", path, "' is a directory, not a YAML file"));
  }
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (!error && size > kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat("config file '", path, "' is ", size,
                                                   " bytes; a config is at most ", kMaxConfigBytes,
                                                   " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open config file '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("error reading config file '", path, "'"));
  }
  return contents.str();
}

}  // namespace

absl::StatusOr<ExperimentConfig> ParseExperimentConfig(absl::string_view yaml,
                                                       absl::string_view source_name) {
  ExperimentConfig config;
  Binder root;
  internal::BindExperimentConfig(&config, &root);
  Diagnostics diagnostics(source_name);
  KeyLines lines;
  ParseYamlDocument(yaml, root, &diagnostics, &lines);
  // Cross-field rules on half-parsed values would only add confusing follow-on errors.
  if (diagnostics.empty()) internal::CheckExperimentConfig(config, lines, &diagnostics);
  RETURN_IF_ERROR(diagnostics.ToStatus());
  // With rounds the run's length follows from them (the check above refused a contradiction).
  if (config.rounds.count > 0) {
    config.run.iterations = int64_t{config.rounds.count} * int64_t{config.rounds.iterations};
  }
  return config;
}

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string yaml, ReadConfigFile(path));
  return ParseExperimentConfig(yaml, path);
}

std::string ExperimentConfigYaml(const ExperimentConfig& config) {
  // The binder needs mutable members to bind to; rendering only reads them.
  ExperimentConfig copy = config;
  Binder root;
  internal::BindExperimentConfig(&copy, &root);
  return absl::StrCat(kHeader, RenderYaml(root));
}

std::string DefaultConfigYaml() { return ExperimentConfigYaml(ExperimentConfig{}); }

}  // namespace rein::config
