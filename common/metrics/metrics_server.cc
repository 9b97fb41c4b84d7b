#include "common/metrics/metrics_server.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rein {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(
    const MetricsServerOptions& options, std::shared_ptr<prometheus::Registry> registry) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port ", options.port, " out of range"));
  }
  std::string bind = absl::StrCat(options.host, ":", options.port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // civetweb reports bind failures by throwing; nothing else here throws.
    exposer = std::make_unique<prometheus::Exposer>(bind, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", bind, ": ", e.what()));
  }
  std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat("metrics server on ", bind, " has no port"));
  }
  exposer->RegisterCollectable(registry);
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(exposer), std::move(registry), options.host, ports.front()));
}

MetricsServer::MetricsServer(std::unique_ptr<prometheus::Exposer> exposer,
                             std::shared_ptr<prometheus::Registry> registry, std::string host,
                             int port)
    : exposer_(std::move(exposer)),
      registry_(std::move(registry)),
      host_(std::move(host)),
      port_(port) {}

MetricsServer::~MetricsServer() = default;

std::string MetricsServer::address() const { return absl::StrCat(host_, ":", port_); }

}  // namespace rein
