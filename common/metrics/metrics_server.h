// Serves a process's Prometheus metrics over HTTP at /metrics.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   ASSIGN_OR_RETURN(auto metrics, MetricsServer::Create({.host = "127.0.0.1", .port = 0},
//                                                       registry));
//   REIN_LOG(INFO, "metrics") << "metrics on " << metrics->address();
//
// Every Rein process owns one Registry, passes it by reference to the components that export
// metrics, and serves it through one MetricsServer. Thread safety: all methods are safe to call
// concurrently; scrapes run on the server's own threads.
#ifndef REIN_COMMON_METRICS_METRICS_SERVER_H_
#define REIN_COMMON_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"

namespace rein {

struct MetricsServerOptions {
  // Interface to bind. Default: loopback only.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one (see MetricsServer::port()).
  int port = 0;
};

class MetricsServer {
 public:
  // Binds and starts serving `registry`, which the server keeps alive.
  // Fails with UNAVAILABLE if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(
      const MetricsServerOptions& options, std::shared_ptr<prometheus::Registry> registry);

  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const { return port_; }
  // "host:port".
  std::string address() const;

 private:
  MetricsServer(std::unique_ptr<prometheus::Exposer> exposer,
                std::shared_ptr<prometheus::Registry> registry, std::string host, int port);

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::string host_;
  int port_;
};

}  // namespace rein

#endif  // REIN_COMMON_METRICS_METRICS_SERVER_H_
