// The experiment config's `server` section as RPC options, for every Rein process: the server a
// process runs and the channels it dials to its peers. A cluster has one CA: servers present
// tls.cert/tls.key and trust client certificates from tls.client_ca; clients trust tls.client_ca
// for servers and, when mutual TLS is required, present the same certificate.
#ifndef REIN_COMMON_RPC_CONFIG_OPTIONS_H_
#define REIN_COMMON_RPC_CONFIG_OPTIONS_H_

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/rpc/options.h"

namespace rein::rpc {

// Reads the bearer token from server.auth_token_file (NOT_FOUND/INVALID_ARGUMENT naming the
// file when it is missing or empty). Port 0: the caller sets the port.
absl::StatusOr<ServerOptions> ServerOptionsFromConfig(const config::ServerConfig& server);
absl::StatusOr<ClientOptions> ClientOptionsFromConfig(const config::ServerConfig& server);

// Client options for rein-feedback's admin RPCs: as ClientOptionsFromConfig, with the token
// from feedback.admin_token_file when set (else server.auth_token_file's, as rein-feedback does).
absl::StatusOr<ClientOptions> FeedbackAdminClientOptions(const config::ExperimentConfig& c);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_CONFIG_OPTIONS_H_
