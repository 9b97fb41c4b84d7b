#include "common/rpc/server.h"

#include <utility>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/rpc/credentials.h"
#include "common/rpc/server_metrics.h"
#include "common/rpc/token_auth.h"
#include "common/status/status_macros.h"

namespace rein::rpc {
namespace {

absl::Status ValidateOptions(const ServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("server.port ", options.port,
                                                   " out of range 0..65535"));
  }
  if (options.host.empty()) return absl::InvalidArgumentError("server.host is empty");
  if (options.max_message_bytes <= 0) {
    return absl::InvalidArgumentError("server.max_message_bytes must be positive");
  }
  if (options.drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("server.drain_timeout must not be negative");
  }
  return absl::OkStatus();
}

// gRPC parses "[::1]:0" but not "::1:0": bracket bare IPv6 literals.
std::string HostPort(const std::string& host, int port) {
  bool bare_ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return bare_ipv6 ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
}

constexpr int kStreamWindowBytes = 16 << 20;

int Milliseconds(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

void ApplyChannelArguments(const ServerOptions& options, grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             Milliseconds(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Accept client keepalive pings as frequent as ours (clients default to the same interval).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Milliseconds(options.keepalive_time / 2));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // Large transfers (weights, experience batches) must not wait a scheduler round trip per
  // 64 KiB flow-control window: start every stream with a window that holds whole chunks.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  // gRPC sets SO_REUSEPORT by default, which would let a second server silently share a port
  // that is already in use; a taken port must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Create(const ServerOptions& options,
                                                       std::vector<ServiceBinding> services,
                                                       prometheus::Registry& registry) {
  RETURN_IF_ERROR(ValidateOptions(options));
  std::shared_ptr<grpc::AuthMetadataProcessor> auth;
  std::vector<RoleCredential> credentials_by_role = options.role_credentials;
  if (!options.auth_token.empty()) {
    credentials_by_role.push_back({AuthRole::kOperator, options.auth_token});
  }
  if (!credentials_by_role.empty()) {
    ASSIGN_OR_RETURN(auth, TokenAuthProcessor::Create(credentials_by_role, registry));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   MakeServerCredentials(options, std::move(auth)));

  grpc::EnableDefaultHealthCheckService(true);
  if (options.enable_reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(HostPort(options.host, options.port), credentials, &port);
  ApplyChannelArguments(options, builder);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeServerMetricsInterceptorFactory(registry));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::vector<std::string> names;
  for (const ServiceBinding& binding : services) {
    builder.RegisterService(binding.service);
    names.push_back(binding.name);
  }

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ",
                                               HostPort(options.host, options.port)));
  }
  return std::unique_ptr<Server>(new Server(options, std::move(server), port, std::move(names)));
}

Server::Server(const ServerOptions& options, std::unique_ptr<grpc::Server> server, int port,
               std::vector<std::string> service_names)
    : options_(options),
      server_(std::move(server)),
      port_(port),
      service_names_(std::move(service_names)) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  for (const std::string& name : service_names_) health->SetServingStatus(name, true);
  health->SetServingStatus(true);
}

Server::~Server() { Shutdown(); }

std::string Server::address() const { return HostPort(options_.host, port_); }

void Server::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  REIN_LOG(INFO, "rpc") << "shutting down " << address() << ", draining calls for up to "
                        << absl::FormatDuration(options_.drain_timeout);
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.drain_timeout));
  server_->Wait();
}

void Server::Wait() { server_->Wait(); }

}  // namespace rein::rpc
