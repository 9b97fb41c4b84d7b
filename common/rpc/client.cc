#include "common/rpc/client.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/rpc/credentials.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace rein::rpc {
namespace {

using HealthResponse = grpc::health::v1::HealthCheckResponse;

std::string JsonSeconds(absl::Duration d) {
  return absl::StrFormat("\"%.3fs\"", absl::ToDoubleSeconds(d));
}

// {"service":"rein.v1.Rollout","method":"Generate"} from "rein.v1.Rollout/Generate"; a bare
// service name covers all of its methods.
std::string MethodNameJson(const std::string& method) {
  std::vector<std::string> parts = absl::StrSplit(method, absl::MaxSplits('/', 1));
  if (parts.size() == 1) return absl::StrCat("{\"service\":\"", parts[0], "\"}");
  return absl::StrCat("{\"service\":\"", parts[0], "\",\"method\":\"", parts[1], "\"}");
}

int Milliseconds(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

std::string ServingStatusName(HealthResponse::ServingStatus status) {
  return HealthResponse::ServingStatus_Name(status);
}

}  // namespace

std::vector<std::string> IdempotentReinMethods() {
  // Everything here may run twice without changing the outcome. Learner/Train and
  // Rollout/LoadWeights are absent on purpose: a retry would apply an update twice.
  return {
      "rein.v1.Rollout/Generate",     "rein.v1.Reward/Score",
      "rein.v1.Reference/LogProbs",   "rein.v1.Learner/GetWeights",
      "rein.v1.Learner/SaveCheckpoint", "rein.v1.Coordinator/Register",
      "rein.v1.Coordinator/Status",   "rein.v1.Coordinator/Pause",
      "rein.v1.Coordinator/Resume",   "rein.v1.Coordinator/Stop",
      "rein.v1.Coordinator/Set",      "rein.v1.Coordinator/KvSet",
      "rein.v1.Coordinator/KvGet",    "grpc.health.v1.Health/Check",
  };
}

std::string RetryServiceConfig(const ClientOptions& options) {
  if (options.retryable_methods.empty()) return "{}";
  std::vector<std::string> names;
  for (const std::string& method : options.retryable_methods) {
    names.push_back(MethodNameJson(method));
  }
  std::vector<std::string> codes;
  for (const std::string& code : options.retry.retryable_status_codes) {
    codes.push_back(absl::StrCat("\"", code, "\""));
  }
  const RetryPolicy& retry = options.retry;
  return absl::StrCat(
      "{\"methodConfig\":[{\"name\":[", absl::StrJoin(names, ","), "],\"retryPolicy\":{",
      "\"maxAttempts\":", retry.max_attempts, ",\"initialBackoff\":",
      JsonSeconds(retry.initial_backoff), ",\"maxBackoff\":", JsonSeconds(retry.max_backoff),
      ",\"backoffMultiplier\":", retry.backoff_multiplier, ",\"retryableStatusCodes\":[",
      absl::StrJoin(codes, ","), "]}}]}");
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const std::string& target,
                                                             const ClientOptions& options) {
  if (target.empty()) return absl::InvalidArgumentError("empty target address");
  if (options.retry.max_attempts < 1) {
    return absl::InvalidArgumentError("retry.max_attempts must be at least 1");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                   MakeChannelCredentials(options));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(options.keepalive_time));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Milliseconds(options.keepalive_timeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  const int max_backoff = std::max(1, Milliseconds(options.max_reconnect_backoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(1000, max_backoff));
  // See the server: a window that holds whole chunks of large transfers.
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 20);
  args.SetServiceConfigJSON(RetryServiceConfig(options));
  if (!options.tls.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.tls.server_name_override);
  }
  return grpc::CreateCustomChannel(target, credentials, args);
}

std::unique_ptr<grpc::ClientContext> NewCallContext(const ClientOptions& options,
                                                    absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (deadline <= absl::ZeroDuration()) deadline = options.default_deadline;
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  if (!options.auth_token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options.auth_token));
  }
  return context;
}

absl::Status CheckHealth(grpc::Channel& channel, const ClientOptions& options,
                         const std::string& service, absl::Duration deadline) {
  auto stub = grpc::health::v1::Health::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthResponse response;
  auto context = NewCallContext(options, deadline);
  grpc::Status status = stub->Check(context.get(), request, &response);
  if (!status.ok()) return FromGrpcStatus(status, "health check");
  if (response.status() != HealthResponse::SERVING) {
    return absl::UnavailableError(absl::StrCat("service '", service, "' is ",
                                               ServingStatusName(response.status())));
  }
  return absl::OkStatus();
}

absl::Status WaitUntilServing(grpc::Channel& channel, const ClientOptions& options,
                              const std::string& service, absl::Duration timeout) {
  auto stub = grpc::health::v1::Health::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  auto context = NewCallContext(options, timeout);
  context->set_wait_for_ready(true);
  auto reader = stub->Watch(context.get(), request);
  HealthResponse response;
  HealthResponse::ServingStatus last = HealthResponse::UNKNOWN;
  while (reader->Read(&response)) {
    last = response.status();
    if (last == HealthResponse::SERVING) {
      context->TryCancel();
      reader->Finish().IgnoreError();
      return absl::OkStatus();
    }
  }
  grpc::Status status = reader->Finish();
  return absl::DeadlineExceededError(absl::StrCat(
      "service '", service, "' not serving after ", absl::FormatDuration(timeout),
      " (last state ", ServingStatusName(last), "; ", status.error_message(), ")"));
}

}  // namespace rein::rpc
