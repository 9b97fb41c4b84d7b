// The body of every Rein service's main(): serve until told to stop, then drain.
//
//   auto shutdown = rpc::ShutdownSignal::Install();
//   ... build the service and `registry` ...
//   absl::Status status = rpc::Serve(options, {rpc::Bind<rein::v1::Reward>(&reward)}, registry,
//                                    *shutdown);
//
// Once both servers are up, Serve prints two lines to stdout that launchers (reinctl up,
// tests, Slurm scripts) read to learn the ports chosen for port 0:
//   rein-reward listening on 127.0.0.1:40211
//   rein-reward metrics on 127.0.0.1:40212
#ifndef REIN_COMMON_RPC_SERVE_H_
#define REIN_COMMON_RPC_SERVE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "common/metrics/metrics_server.h"
#include "common/rpc/options.h"
#include "common/rpc/server.h"
#include "common/rpc/shutdown_signal.h"

namespace rein::rpc {

// Markers of the stdout lines above; what follows each is "host:port".
inline constexpr char kListeningMarker[] = " listening on ";
inline constexpr char kMetricsMarker[] = " metrics on ";
// A worker's log line once its coordinator took its registration.
inline constexpr char kRegisteredMarker[] = "registered with coordinator ";

struct ServeOptions {
  // Process name in the stdout lines and logs, e.g. "rein-reward" or "rollout-1".
  std::string name = "rein";
  ServerOptions server;
  MetricsServerOptions metrics;
  // Optional: runs when `shutdown` fires (with the signal number, 0 for RequestShutdown) and
  // before the servers stop, so they still answer meanwhile: the coordinator finishes its
  // iteration and final checkpoint here, a draining worker waits for its coordinator.
  std::function<void(int signal)> before_stop;
};

// Starts the gRPC and metrics servers, announces them, blocks until `shutdown` fires, then
// drains (ServerOptions::drain_timeout). `on_started` (optional) runs after the announcement,
// e.g. to register with the coordinator; its error stops the server and is returned.
absl::Status Serve(const ServeOptions& options, std::vector<ServiceBinding> services,
                   std::shared_ptr<prometheus::Registry> registry, ShutdownSignal& shutdown,
                   const std::function<absl::Status(const Server&)>& on_started = nullptr);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_SERVE_H_
