// Helpers shared by reinctl's command groups.
#ifndef REIN_SERVICES_REINCTL_COMMAND_UTIL_H_
#define REIN_SERVICES_REINCTL_COMMAND_UTIL_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

// Ends the command with `status` as the process's exit status (CLI11 turns a RuntimeError into
// the exit status without printing anything more). 0 returns normally.
inline void ExitWith(int status) {
  if (status != 0) throw CLI::RuntimeError(status);
}

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_COMMAND_UTIL_H_
