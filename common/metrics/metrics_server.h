// Serves a process's Prometheus metrics over HTTP at /metrics.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   ASSIGN_OR_RETURN(auto metrics, MetricsServer::Create({.host = "127.0.0.1", .port = 0},
//                                                       registry));
//   REIN_LOG(INFO, "metrics") << "metrics on " << metrics->address();
//
// Every Rein process owns one Registry, passes it by reference to the components that export
// metrics, and serves it through one MetricsServer. prometheus-cpp collects and renders the
// text format; the HTTP side is common/http (cpp-httplib, the one HTTP library of Rein), not
// prometheus-cpp's civetweb exposer: civetweb starts its threads with a fixed 100 KiB stack,
// which glibc refuses (EINVAL) in any process that loads LibTorch, whose static TLS alone is
// larger. cpp-httplib's threads are std::threads with the default stack.
//
// GET (or HEAD) /metrics → 200 text/plain; version=0.0.4 with the registry's text and the
// process metrics (process_metrics.h); other paths → 404; other methods → 405. Malformed requests get httplib's 400, and a scrape that
// throws (e.g. out of memory while rendering) a 500; no exception leaves the server.
//
// Threading: one listener thread and two workers, so a slow scraper does not block another
// (Prometheus and a person with curl). Each connection carries one scrape and is closed after
// the reply. `timeout` bounds how long a connection may wait for its request, each read and
// write of a scrape, and so how long the destructor waits for a scraper.
// Thread safety: all methods are safe to call concurrently.
#ifndef REIN_COMMON_METRICS_METRICS_SERVER_H_
#define REIN_COMMON_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>
#include <utility>

#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http/http_server.h"

namespace rein {

struct MetricsServerOptions {
  // Interface to bind: an IPv4 or IPv6 literal, or "localhost". Default: loopback only.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one (see MetricsServer::port()). Default: 0.
  int port = 0;
  // Longest wait for a connection's request to begin (whole seconds, at least 1 s) and for
  // each read and write of a scrape. Default: 5 s.
  absl::Duration timeout = absl::Seconds(5);
};

class MetricsServer {
 public:
  // Binds and starts serving `registry`, which the server keeps alive.
  // INVALID_ARGUMENT for a bad host, port or timeout; UNAVAILABLE if the address cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(
      const MetricsServerOptions& options, std::shared_ptr<prometheus::Registry> registry);

  // Stops accepting, lets the scrapes in progress finish (bounded by options.timeout), and
  // joins the server's threads.
  ~MetricsServer() = default;
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const { return http_->port(); }
  // "host:port".
  std::string address() const { return http_->address(); }

 private:
  explicit MetricsServer(std::unique_ptr<http::HttpServer> http) : http_(std::move(http)) {}

  // Its routes own the registry.
  const std::unique_ptr<http::HttpServer> http_;
};

}  // namespace rein

#endif  // REIN_COMMON_METRICS_METRICS_SERVER_H_
