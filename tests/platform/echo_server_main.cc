// rein-test-echo-server: the rein.testing.Echo service on Rein's server runtime, as a real
// process for cross-process tests. Prints "hold <key>" on stdout when a Hold call starts.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "common/log/log.h"
#include "common/process/process_setup.h"
#include "common/rpc/serve.h"
#include "common/testing/echo_service.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Interface to listen on.");
ABSL_FLAG(int, port, 0, "gRPC port; 0 picks a free one.");
ABSL_FLAG(int, metrics_port, 0, "Prometheus /metrics port; 0 picks a free one.");
ABSL_FLAG(std::string, auth_token_file, "", "File holding the bearer token; empty: no auth.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30), "Shutdown drain deadline.");

namespace {

std::string ReadToken(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  return token;
}

}  // namespace

int main(int argc, char** argv) {
  auto shutdown = rein::rpc::ShutdownSignal::Install();
  rein::ParseFlags(argc, argv,
                   "rein-test-echo-server: the rein.testing.Echo service, for cross-process tests.");
  rein::log::SetProcessName("echo-server");

  rein::testing::EchoService echo([](const std::string& key) {
    std::printf("hold %s\n", key.c_str());
    std::fflush(stdout);
  });
  rein::rpc::ServeOptions options;
  options.name = "rein-test-echo-server";
  options.server.host = absl::GetFlag(FLAGS_host);
  options.server.port = absl::GetFlag(FLAGS_port);
  options.server.auth_token = ReadToken(absl::GetFlag(FLAGS_auth_token_file));
  options.server.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  options.metrics.host = options.server.host;
  options.metrics.port = absl::GetFlag(FLAGS_metrics_port);
  auto registry = std::make_shared<prometheus::Registry>();
  absl::Status status = rein::rpc::Serve(
      options, {rein::rpc::Bind<rein::testing::Echo>(&echo)}, registry, *shutdown);
  if (!status.ok()) {
    REIN_LOG(ERROR, "main") << status;
    return 1;
  }
  return 0;
}
