// Option structs for Rein's gRPC servers and clients. Every field documents its default.
#ifndef REIN_COMMON_RPC_OPTIONS_H_
#define REIN_COMMON_RPC_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/rpc/auth_roles.h"

namespace rein::rpc {

// Server-side TLS. All paths are PEM files. Empty cert_file means plaintext.
struct ServerTlsOptions {
  // Certificate chain and private key the server presents. Both or neither.
  std::string cert_file;
  std::string key_file;
  // CA bundle that client certificates must chain to. Required when require_client_cert.
  std::string client_ca_file;
  // Mutual TLS: refuse clients that present no certificate signed by client_ca_file.
  bool require_client_cert = false;

  bool enabled() const { return !cert_file.empty(); }
};

// Client-side TLS. All paths are PEM files. Empty ca_file and cert_file mean plaintext.
struct ClientTlsOptions {
  // CA bundle the server's certificate must chain to. Enables TLS when set.
  std::string ca_file;
  // Certificate chain and key for mutual TLS. Both or neither.
  std::string cert_file;
  std::string key_file;
  // Name expected in the server certificate, when it differs from the dialled host.
  std::string server_name_override;

  bool enabled() const { return !ca_file.empty(); }
};

// One role's credential as a server holds it: the token, or its verifier "sha256:<64 hex>"
// (see auth_roles.h), so that a server can accept a role it must not be able to act as.
struct RoleCredential {
  AuthRole role = AuthRole::kOperator;
  std::string secret;
};

struct ServerOptions {
  // Interface to listen on. Default: loopback only.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one, which Server::port() reports and the server logs.
  int port = 0;
  ServerTlsOptions tls;
  // Bearer token every call must carry ("authorization: Bearer <token>"); empty disables auth.
  // Health checks are exempt so that orchestrators can probe without it. Without TLS a token
  // would cross the network in plaintext, so it is accepted only on a loopback host.
  // It grants the operator role: one token for every role (server.auth_token_file).
  std::string auth_token;
  // Per-role credentials (server.auth.*), accepted alongside auth_token; each call then needs
  // the role auth_roles.h lists for its method (PERMISSION_DENIED otherwise). Empty with an
  // empty auth_token disables auth. The same loopback-or-TLS rule applies.
  std::vector<RoleCredential> role_credentials;
  // Largest request and response message, in bytes. Default 256 MiB (weight chunks are far
  // smaller; experience batches can be large).
  int max_message_bytes = 256 << 20;
  // Interval between server keepalive pings on idle connections, and how long to wait for the
  // ping's acknowledgement before closing the connection.
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // On shutdown, calls in flight get this long to finish before they are cancelled.
  absl::Duration drain_timeout = absl::Seconds(30);
  // Serve grpc.reflection.v1alpha so that grpcurl and friends can list the services.
  bool enable_reflection = true;
};

// A gRPC retry policy (see the gRPC service-config documentation). Applied only to the methods
// listed in ClientOptions::retryable_methods, which must be idempotent.
struct RetryPolicy {
  // Total attempts including the first; gRPC caps this at 5.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  double backoff_multiplier = 2.0;
  // Status codes that trigger a retry, as service-config names.
  std::vector<std::string> retryable_status_codes = {"UNAVAILABLE"};
};

// The methods of the Rein wire contract that are safe to retry (see ClientOptions).
std::vector<std::string> IdempotentReinMethods();

struct ClientOptions {
  ClientTlsOptions tls;
  // Sent as "authorization: Bearer <token>" on every call; empty sends none.
  std::string auth_token;
  // Deadline of a call whose caller names none. Every call has a deadline.
  absl::Duration default_deadline = absl::Seconds(60);
  // Largest message received or sent, in bytes. Default 256 MiB.
  int max_message_bytes = 256 << 20;
  // Client keepalive pings (also on idle connections), to notice dead peers promptly.
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // Longest wait between reconnection attempts to a peer that is down. gRPC's default grows to
  // two minutes, long enough to miss a coordinator's whole short run, or to leave a restarted
  // one unreached for as long. Default 2 s.
  absl::Duration max_reconnect_backoff = absl::Seconds(2);
  RetryPolicy retry;
  // Fully-qualified methods ("package.Service/Method", or "package.Service" for all of its
  // methods) that are idempotent and therefore retried.
  std::vector<std::string> retryable_methods = IdempotentReinMethods();
};

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_OPTIONS_H_
