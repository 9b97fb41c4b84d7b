// The gRPC server every Rein service runs on, so that listening, health checks, reflection,
// TLS, token auth, message limits, keepalive, metrics and graceful shutdown are written once.
//
//   ASSIGN_OR_RETURN(auto server, rpc::Server::Create(
//       options, {rpc::Bind<rein::v1::Rollout>(&rollout_service)}, *registry));
//   REIN_LOG(INFO, "rollout") << "listening on " << server->address();
//   shutdown_signal.Wait();
//   server->Shutdown();   // drains calls in flight for up to options.drain_timeout
//
// Health: grpc.health.v1.Health reports SERVING for "" and for every registered service from
// Create() until Shutdown() begins, then NOT_SERVING, so load balancers stop sending new work
// before the drain.
//
// Ownership: the services are not owned and must outlive the Server. Thread safety: all
// methods may be called from any thread; Shutdown() is idempotent.
#ifndef REIN_COMMON_RPC_SERVER_H_
#define REIN_COMMON_RPC_SERVER_H_

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <grpcpp/server.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/options.h"

namespace rein::rpc {

// A service implementation and its full name ("rein.v1.Rollout"), for health reporting.
struct ServiceBinding {
  std::string name;
  grpc::Service* service;
};

// Bind<rein::v1::Rollout>(&impl): takes the name from the generated outer class.
template <typename GeneratedService, typename Impl>
ServiceBinding Bind(Impl* impl) {
  static_assert(std::is_base_of_v<grpc::Service, Impl>, "Impl must be a gRPC service");
  return ServiceBinding{GeneratedService::service_full_name(), impl};
}

class Server {
 public:
  // Builds and starts a server with `services` on options.host:options.port. `registry` must
  // outlive the server; it receives the per-method metrics (see server_metrics.h).
  // Fails with INVALID_ARGUMENT for inconsistent options, NOT_FOUND for missing PEM files and
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Create(const ServerOptions& options,
                                                        std::vector<ServiceBinding> services,
                                                        prometheus::Registry& registry);

  // Shuts down (draining) if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port: the chosen one when options.port was 0.
  int port() const { return port_; }
  // "host:port", dialable by clients.
  std::string address() const;

  // Marks the server NOT_SERVING, stops accepting calls, lets calls in flight finish for up to
  // options.drain_timeout, cancels what is left, and returns once all handlers have returned.
  void Shutdown();

  // Blocks until Shutdown() has completed (called from another thread).
  void Wait();

 private:
  Server(const ServerOptions& options, std::unique_ptr<grpc::Server> server, int port,
         std::vector<std::string> service_names);

  const ServerOptions options_;
  const std::unique_ptr<grpc::Server> server_;
  const int port_;
  const std::vector<std::string> service_names_;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_SERVER_H_
