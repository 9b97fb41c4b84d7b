// The experiment config's schema and cross-field rules, private to common/config.
#ifndef REIN_COMMON_CONFIG_INTERNAL_EXPERIMENT_CONFIG_SCHEMA_H_
#define REIN_COMMON_CONFIG_INTERNAL_EXPERIMENT_CONFIG_SCHEMA_H_

#include "common/config/diagnostics.h"
#include "common/config/experiment_config.h"
#include "common/config/yaml_binder.h"

namespace rein::config::internal {

// Declares every section and key of the experiment config under `root`, bound to the members
// of `*config`: the one place each key, its doc and its single-field rules are written.
void BindExperimentConfig(ExperimentConfig* config, Binder* root);

// Rules that involve more than one field, run once every field has parsed. Each error names the
// keys involved and points at the line of the first one written in the document.
void CheckExperimentConfig(const ExperimentConfig& config, const KeyLines& lines,
                           Diagnostics* diagnostics);

}  // namespace rein::config::internal

#endif  // REIN_COMMON_CONFIG_INTERNAL_EXPERIMENT_CONFIG_SCHEMA_H_
