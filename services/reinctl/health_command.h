// `reinctl health ADDRESS`: asks any Rein process whether it is serving (grpc.health.v1).
//
//   reinctl health 127.0.0.1:4001 [--service rein.v1.Rollout] [--wait 30s]
//                  [--tls-ca ca.pem [--tls-cert c.pem --tls-key c.key]]
// Prints SERVING and exits 0, or prints why not and exits 1. With --wait it waits (without
// polling) for the process to come up, as launch scripts need.
#ifndef REIN_SERVICES_REINCTL_HEALTH_COMMAND_H_
#define REIN_SERVICES_REINCTL_HEALTH_COMMAND_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

void AddHealthCommand(CLI::App& app);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_HEALTH_COMMAND_H_
