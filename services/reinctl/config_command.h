// `reinctl config`: the experiment config file, checked and explained.
//
//   reinctl config check FILE    parse and validate FILE; print a summary, or every error as
//                                FILE:LINE: key: problem (exit status 1); then check the files
//                                it names and that the tokenizer and models agree
//                                (config_preflight.h), each problem as key: problem
//   reinctl config check --parse-only FILE   the YAML alone
//   reinctl config defaults      every key with its default and documentation, as YAML
#ifndef REIN_SERVICES_REINCTL_CONFIG_COMMAND_H_
#define REIN_SERVICES_REINCTL_CONFIG_COMMAND_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

void AddConfigCommands(CLI::App& app);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_CONFIG_COMMAND_H_
