// What `reinctl config check` looks at after the YAML validates: the files and folders the
// config names, for the processes its learner.mode starts (as reinctl up starts them), and
// whether the tokenizer and the models agree on the vocabulary and the special tokens. Nothing
// is loaded but config.json files and the tokenizer, so a newcomer's mistakes show in a second
// instead of at the first Train.
//
// Relative paths are taken from the working folder, as the services take them.
//
// Thread safety: a stateless function.
#ifndef REIN_SERVICES_REINCTL_CONFIG_PREFLIGHT_H_
#define REIN_SERVICES_REINCTL_CONFIG_PREFLIGHT_H_

#include <string>
#include <vector>

#include "common/config/experiment_config.h"

namespace rein::reinctl {

// Every problem found, each a line that starts with the config key it is about
// ("model.reward_model: '/x/rm' does not exist"); empty when all is well.
std::vector<std::string> PreflightProblems(const config::ExperimentConfig& c);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_CONFIG_PREFLIGHT_H_
