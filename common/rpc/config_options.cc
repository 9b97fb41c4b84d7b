#include "common/rpc/config_options.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::rpc {
namespace {

absl::StatusOr<std::string> ReadToken(const std::string& path,
                                      absl::string_view key = "server.auth_token_file") {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(key, ": cannot read '", path, "'"));
  std::string token;
  std::getline(in, token);
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": '", path, "' is empty"));
  }
  return token;
}

}  // namespace

absl::StatusOr<ServerOptions> ServerOptionsFromConfig(const config::ServerConfig& server) {
  ServerOptions options;
  options.host = server.host;
  options.max_message_bytes = static_cast<int>(server.max_message_bytes);
  options.keepalive_time = server.keepalive_time;
  options.keepalive_timeout = server.keepalive_timeout;
  options.drain_timeout = server.drain_timeout;
  options.tls.cert_file = server.tls.cert;
  options.tls.key_file = server.tls.key;
  options.tls.client_ca_file = server.tls.client_ca;
  options.tls.require_client_cert = server.tls.require_client_cert;
  ASSIGN_OR_RETURN(options.auth_token, ReadToken(server.auth_token_file));
  return options;
}

absl::StatusOr<ClientOptions> ClientOptionsFromConfig(const config::ServerConfig& server) {
  ClientOptions options;
  options.default_deadline = server.call_timeout;
  options.max_message_bytes = static_cast<int>(server.max_message_bytes);
  options.keepalive_time = server.keepalive_time;
  options.keepalive_timeout = server.keepalive_timeout;
  if (!server.tls.cert.empty()) {
    options.tls.ca_file = server.tls.client_ca;
    if (server.tls.require_client_cert) {
      options.tls.cert_file = server.tls.cert;
      options.tls.key_file = server.tls.key;
    }
  }
  ASSIGN_OR_RETURN(options.auth_token, ReadToken(server.auth_token_file));
  return options;
}

absl::StatusOr<ClientOptions> FeedbackAdminClientOptions(const config::ExperimentConfig& c) {
  ASSIGN_OR_RETURN(ClientOptions options, ClientOptionsFromConfig(c.server));
  if (!c.feedback.admin_token_file.empty()) {
    ASSIGN_OR_RETURN(options.auth_token,
                     ReadToken(c.feedback.admin_token_file, "feedback.admin_token_file"));
  }
  return options;
}

}  // namespace rein::rpc
