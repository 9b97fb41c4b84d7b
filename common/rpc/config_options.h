// The experiment config's `server` section as RPC options, for every Rein process: the server a
// process runs and the channels it dials to its peers. A cluster has one CA: servers present
// tls.cert/tls.key and trust client certificates from tls.client_ca; clients trust tls.client_ca
// for servers and, when mutual TLS is required, present the same certificate.
//
// Credentials: server.auth_token_file is one token for every role; server.auth.* gives each
// role its own (auth_roles.h). A server accepts every configured role; a client presents the
// one role its process speaks as.
#ifndef REIN_COMMON_RPC_CONFIG_OPTIONS_H_
#define REIN_COMMON_RPC_CONFIG_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/rpc/options.h"

namespace rein::rpc {

// Reads the token files (NOT_FOUND/INVALID_ARGUMENT naming the key and file when one is
// missing or empty). A per-role file may hold a verifier ("sha256:<hex>") instead of the token.
// Port 0: the caller sets the port.
absl::StatusOr<ServerOptions> ServerOptionsFromConfig(const config::ServerConfig& server);

// Channels that present `role`'s token: server.auth_token_file's when set, else the
// server.auth file of `role` (INVALID_ARGUMENT when it holds only a verifier, or when `role`
// has no file). Without any auth configured, no token.
absl::StatusOr<ClientOptions> ClientOptionsFromConfig(const config::ServerConfig& server,
                                                      AuthRole role);

// Client options for rein-feedback's admin RPCs: as ClientOptionsFromConfig for the operator,
// with the token from feedback.admin_token_file when set (as rein-feedback does).
absl::StatusOr<ClientOptions> FeedbackAdminClientOptions(const config::ExperimentConfig& c);

// The first line of `path`, trimmed; `key` names the option in errors. NOT_FOUND when the
// file cannot be read, INVALID_ARGUMENT when it is empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path, absl::string_view key);

// Writes a fresh token (NewToken, mode 0600) to each server.auth file that does not exist yet
// and returns the keys of those it wrote; existing files are left as they are. For launchers
// that start a whole cluster on one machine (reinctl up).
absl::StatusOr<std::vector<std::string>> CreateMissingRoleTokens(const config::AuthConfig& auth);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_CONFIG_OPTIONS_H_
