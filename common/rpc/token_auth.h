// Bearer-token authentication for Rein servers.
// Every call must carry "authorization: Bearer <token>"; a missing or wrong token fails the call
// with UNAUTHENTICATED before any handler runs. Health checks are exempt so that orchestrators
// (Kubernetes probes, Slurm scripts) can probe without the secret.
//
// Thread safety: Process() runs concurrently on gRPC's threads; the class is immutable apart
// from its counter.
#ifndef REIN_COMMON_RPC_TOKEN_AUTH_H_
#define REIN_COMMON_RPC_TOKEN_AUTH_H_

#include <string>

#include <grpcpp/security/auth_metadata_processor.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "absl/strings/string_view.h"

namespace rein::rpc {

class TokenAuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  // `registry` must outlive this object; it receives rein_rpc_server_unauthenticated_total.
  TokenAuthProcessor(std::string token, prometheus::Registry& registry);

  // The check is a constant-time comparison: no need for gRPC's blocking thread pool.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  std::string expected_header_;  // "Bearer <token>"
  prometheus::Counter& rejected_;
};

// Compares without an early exit, so the time taken does not reveal a matching prefix.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_TOKEN_AUTH_H_
