// reinctl auth: making the per-role tokens of server.auth (README "Credentials and roles").
//   reinctl auth token --out FILE          a fresh token in FILE (mode 0600)
//   reinctl auth verifier --token-file F   prints "sha256:<hex>", what a server may hold
//                                          instead of the token
#ifndef REIN_SERVICES_REINCTL_AUTH_COMMAND_H_
#define REIN_SERVICES_REINCTL_AUTH_COMMAND_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

void AddAuthCommands(CLI::App& app);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_AUTH_COMMAND_H_
