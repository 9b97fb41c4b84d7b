// Client side of Rein's RPC runtime: channels with TLS/token, keepalive, message limits and
// retries for idempotent methods (through the gRPC service config), and call contexts that
// always carry a deadline.
//
//   ASSIGN_OR_RETURN(auto channel, rpc::CreateChannel("127.0.0.1:4001", options));
//   auto stub = rein::v1::Rollout::NewStub(channel);
//   auto context = rpc::NewCallContext(options, absl::Seconds(30));
//   grpc::Status status = stub->Generate(context.get(), request, &response);
//
// Thread safety: channels are thread safe; a ClientContext serves exactly one call.
#ifndef REIN_COMMON_RPC_CLIENT_H_
#define REIN_COMMON_RPC_CLIENT_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/rpc/options.h"

namespace rein::rpc {

// A channel to `target` ("host:port"). Fails with INVALID_ARGUMENT for inconsistent options and
// NOT_FOUND for missing PEM files; connecting happens lazily, on the first call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const std::string& target,
                                                             const ClientOptions& options);

// The gRPC service config (JSON) that retries options.retryable_methods under options.retry.
std::string RetryServiceConfig(const ClientOptions& options);

// A context for one call: deadline now + `deadline` (options.default_deadline when zero or
// negative) and the bearer token, if any.
std::unique_ptr<grpc::ClientContext> NewCallContext(const ClientOptions& options,
                                                    absl::Duration deadline = absl::ZeroDuration());

// One grpc.health.v1 Check of `service` ("" = the whole server). OK when SERVING;
// UNAVAILABLE with the reported state otherwise; the call's own error if it fails.
absl::Status CheckHealth(grpc::Channel& channel, const ClientOptions& options,
                         const std::string& service, absl::Duration deadline);

// Waits until `service` reports SERVING or `timeout` passes (DEADLINE_EXCEEDED). Uses the health
// Watch stream with wait-for-ready, so it waits for the server to come up without polling.
absl::Status WaitUntilServing(grpc::Channel& channel, const ClientOptions& options,
                              const std::string& service, absl::Duration timeout);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_CLIENT_H_
