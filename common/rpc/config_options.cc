#include "common/rpc/config_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files/file_util.h"
#include "common/rpc/token_auth.h"
#include "common/status/status_macros.h"

namespace rein::rpc {
namespace {

struct RoleFile {
  AuthRole role;
  const char* key;
  std::string path;
};

std::vector<RoleFile> RoleFiles(const config::AuthConfig& auth) {
  return {{AuthRole::kWorker, "server.auth.worker_token_file", auth.worker_token_file},
          {AuthRole::kOperator, "server.auth.operator_token_file", auth.operator_token_file},
          {AuthRole::kMonitor, "server.auth.monitor_token_file", auth.monitor_token_file}};
}

absl::StatusOr<std::string> ClientToken(const config::ServerConfig& server, AuthRole role) {
  if (!server.auth_token_file.empty()) {
    return ReadTokenFile(server.auth_token_file, "server.auth_token_file");
  }
  if (!server.auth.enabled()) return std::string();
  for (const RoleFile& file : RoleFiles(server.auth)) {
    if (file.role != role) continue;
    if (file.path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("this process calls as ", AuthRoleName(role),
                                                     " but ", file.key, " is not set"));
    }
    ASSIGN_OR_RETURN(std::string token, ReadTokenFile(file.path, file.key));
    if (absl::StartsWith(token, "sha256:")) {
      return absl::InvalidArgumentError(absl::StrCat(
          file.key, ": '", file.path, "' holds only a verifier, but this process calls as ",
          AuthRoleName(role), " and needs the token itself"));
    }
    return token;
  }
  return absl::InternalError("no server.auth key for the role");
}

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(const std::string& path, absl::string_view key) {
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
  if (!server.auth_token_file.empty()) {
    ASSIGN_OR_RETURN(options.auth_token,
                     ReadTokenFile(server.auth_token_file, "server.auth_token_file"));
  }
  for (const RoleFile& file : RoleFiles(server.auth)) {
    if (file.path.empty()) continue;
    ASSIGN_OR_RETURN(std::string secret, ReadTokenFile(file.path, file.key));
    options.role_credentials.push_back({file.role, std::move(secret)});
  }
  return options;
}

absl::StatusOr<ClientOptions> ClientOptionsFromConfig(const config::ServerConfig& server,
                                                      AuthRole role) {
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
  ASSIGN_OR_RETURN(options.auth_token, ClientToken(server, role));
  return options;
}

absl::StatusOr<ClientOptions> FeedbackAdminClientOptions(const config::ExperimentConfig& c) {
  ASSIGN_OR_RETURN(ClientOptions options, ClientOptionsFromConfig(c.server, AuthRole::kOperator));
  if (!c.feedback.admin_token_file.empty()) {
    ASSIGN_OR_RETURN(options.auth_token,
                     ReadTokenFile(c.feedback.admin_token_file, "feedback.admin_token_file"));
  }
  return options;
}

absl::StatusOr<std::vector<std::string>> CreateMissingRoleTokens(const config::AuthConfig& auth) {
  std::vector<std::string> written;
  for (const RoleFile& file : RoleFiles(auth)) {
    if (file.path.empty() || access(file.path.c_str(), F_OK) == 0) continue;
    const std::string line = NewToken() + "\n";
    RETURN_IF_ERROR(files::WriteFileAtomically(file.path, [&](int fd) -> absl::Status {
      if (fchmod(fd, 0600) != 0) return files::ErrnoError(errno, "chmod", file.path);
      return files::WriteAll(fd, line.data(), line.size(), file.path);
    }));
    written.push_back(file.key);
  }
  return written;
}

}  // namespace rein::rpc
