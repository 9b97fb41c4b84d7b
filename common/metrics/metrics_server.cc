#include "common/metrics/metrics_server.h"

#include <utility>

#include <httplib.h>
#include <prometheus/text_serializer.h>

#include "common/metrics/process_metrics.h"

namespace rein {
namespace {

// A scrape is a GET without a body; anything bigger is not one.
constexpr size_t kMaxRequestBytes = 16 * 1024;
// Prometheus and one more scraper (a person with curl) at once.
constexpr int kThreads = 2;

void InstallRoutes(httplib::Server& server, std::shared_ptr<prometheus::Registry> registry) {
  // Before routing, so that every method but GET and HEAD (which httplib routes as GET) is 405
  // on every path, as for a server that only serves reads.
  server.set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
    if (request.method == "GET" || request.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    response.status = 405;
    response.set_header("Allow", "GET, HEAD");
    response.set_content("only GET\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Patterns match the path without its query, so "/metrics?x=1" is a scrape too.
  server.Get("/metrics", [registry = std::move(registry)](const httplib::Request&,
                                                          httplib::Response& response) {
    // The process's own figures come with every scrape, whoever built the registry.
    std::vector<prometheus::MetricFamily> families = registry->Collect();
    for (auto& family : metrics::CollectProcessMetrics()) families.push_back(std::move(family));
    response.set_content(prometheus::TextSerializer().Serialize(families),
                         "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get(".*", [](const httplib::Request&, httplib::Response& response) {
    response.status = 404;
    response.set_content("metrics are at /metrics\n", "text/plain");
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(
    const MetricsServerOptions& options, std::shared_ptr<prometheus::Registry> registry) {
  http::HttpServerOptions http_options;
  http_options.name = "metrics";
  http_options.host = options.host;
  http_options.port = options.port;
  http_options.threads = kThreads;
  http_options.read_timeout = options.timeout;
  http_options.write_timeout = options.timeout;
  http_options.keep_alive_timeout = options.timeout;
  // One scrape per connection, as Prometheus needs: no idle keep-alive connection can then
  // delay the destructor by a keep-alive wait after its scrape.
  http_options.keep_alive_max_count = 1;
  http_options.max_request_bytes = kMaxRequestBytes;
  absl::StatusOr<std::unique_ptr<http::HttpServer>> http = http::HttpServer::Start(
      http_options, [registry = std::move(registry)](httplib::Server& server) mutable {
        InstallRoutes(server, std::move(registry));
      });
  if (!http.ok()) return http.status();
  return std::unique_ptr<MetricsServer>(new MetricsServer(*std::move(http)));
}

}  // namespace rein
