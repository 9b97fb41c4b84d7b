// Bearer-token authentication and role checks for Rein servers.
// Every call must carry "authorization: Bearer <token>". The token is matched against each
// configured RoleCredential (constant-time, against the token or its SHA-256 verifier); no
// match fails the call with UNAUTHENTICATED, a match whose role is below the one auth_roles.h
// requires for the method fails it with PERMISSION_DENIED naming both roles. Either way no
// handler runs. Health checks are exempt so that orchestrators (Kubernetes probes, Slurm
// scripts) can probe without a secret. An accepted call's AuthContext carries the role under
// kAuthRoleProperty (CallerRole() reads it).
//
// Metrics: rein_rpc_server_unauthenticated_total and
// rein_rpc_server_permission_denied_total{role} (the role the refused token has).
//
// Thread safety: Process() runs concurrently on gRPC's threads; the class is immutable apart
// from its counters.
#ifndef REIN_COMMON_RPC_TOKEN_AUTH_H_
#define REIN_COMMON_RPC_TOKEN_AUTH_H_

#include <grpcpp/security/auth_metadata_processor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/rpc/options.h"

namespace rein::rpc {

class TokenAuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  // `credentials` must not be empty; a secret "sha256:..." must hold 64 hex digits
  // (INVALID_ARGUMENT otherwise). `registry` must outlive the processor.
  static absl::StatusOr<std::shared_ptr<TokenAuthProcessor>> Create(
      const std::vector<RoleCredential>& credentials, prometheus::Registry& registry);

  // The checks are a hash and constant-time comparisons: no need for gRPC's blocking pool.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // The role `token` authenticates as, if any.
  std::optional<AuthRole> RoleOf(absl::string_view token) const;

 private:
  struct Verifier {
    AuthRole role;
    bool is_digest;  // `value` is a SHA-256 digest (32 bytes) rather than the token
    std::string value;
  };

  TokenAuthProcessor(std::vector<Verifier> verifiers, prometheus::Registry& registry);

  const std::vector<Verifier> verifiers_;
  prometheus::Counter& unauthenticated_;
  std::array<prometheus::Counter*, 3> permission_denied_;  // by AuthRole
};

// Compares without an early exit, so the time taken does not reveal a matching prefix.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// "sha256:<64 lowercase hex digits>" of `token`: what a server may hold instead of the token.
std::string TokenVerifier(absl::string_view token);

// A fresh token: 32 random bytes from the OS, as 64 hex digits.
std::string NewToken();

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_TOKEN_AUTH_H_
