// Serves a process's Prometheus metrics over HTTP at /metrics.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   ASSIGN_OR_RETURN(auto metrics, MetricsServer::Create({.host = "127.0.0.1", .port = 0},
//                                                       registry));
//   REIN_LOG(INFO, "metrics") << "metrics on " << metrics->address();
//
// Every Rein process owns one Registry, passes it by reference to the components that export
// metrics, and serves it through one MetricsServer. prometheus-cpp collects and renders the
// text format; the HTTP side is this small server, not prometheus-cpp's civetweb exposer:
// civetweb starts its threads with a fixed 100 KiB stack, which glibc refuses (EINVAL) in any
// process that loads LibTorch, whose static TLS alone is larger.
//
// One thread accepts and answers scrapes one at a time (HTTP/1.0 style, connection closed
// after each reply): GET /metrics → 200 text/plain; version=0.0.4, other paths → 404, other
// methods → 405. Thread safety: all methods are safe to call concurrently.
#ifndef REIN_COMMON_METRICS_METRICS_SERVER_H_
#define REIN_COMMON_METRICS_METRICS_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

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
  // INVALID_ARGUMENT for a bad host or port; UNAVAILABLE if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(
      const MetricsServerOptions& options, std::shared_ptr<prometheus::Registry> registry);

  // Stops accepting, finishes the scrape in progress, and joins the server thread.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const { return port_; }
  // "host:port".
  std::string address() const;

 private:
  MetricsServer(int listen_fd, int wake_fd, std::shared_ptr<prometheus::Registry> registry,
                std::string host, int port);
  void Serve();
  void Answer(int connection) const;

  const int listen_fd_;
  const int wake_fd_;  // eventfd: written by the destructor to end Serve()
  const std::shared_ptr<prometheus::Registry> registry_;
  const std::string host_;
  const int port_;
  std::thread thread_;
};

}  // namespace rein

#endif  // REIN_COMMON_METRICS_METRICS_SERVER_H_
