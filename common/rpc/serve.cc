#include "common/rpc/serve.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace rein::rpc {
namespace {

// stdout is the launcher's channel; flush so a pipe reader sees the line at once.
void Announce(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace

absl::Status Serve(const ServeOptions& options, std::vector<ServiceBinding> services,
                   std::shared_ptr<prometheus::Registry> registry, ShutdownSignal& shutdown,
                   const std::function<absl::Status(const Server&)>& on_started) {
  ASSIGN_OR_RETURN(std::unique_ptr<MetricsServer> metrics,
                   MetricsServer::Create(options.metrics, registry));
  ASSIGN_OR_RETURN(std::unique_ptr<Server> server,
                   Server::Create(options.server, std::move(services), *registry));
  Announce(absl::StrCat(options.name, kListeningMarker, server->address()));
  Announce(absl::StrCat(options.name, kMetricsMarker, metrics->address()));
  REIN_LOG(INFO, "serve") << "serving on " << server->address() << ", metrics on "
                          << metrics->address();
  if (on_started) {
    absl::Status started = on_started(*server);
    if (!started.ok()) {
      server->Shutdown();
      return started;
    }
  }
  const int signal = shutdown.Wait();
  if (options.before_stop) options.before_stop(signal);
  server->Shutdown();
  REIN_LOG(INFO, "serve") << "stopped";
  return absl::OkStatus();
}

}  // namespace rein::rpc
