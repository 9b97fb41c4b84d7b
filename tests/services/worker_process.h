// Shared by the worker process tests: start a worker binary with a config file, learn its
// ports from stdout, and check that it serves.
#ifndef REIN_TESTS_SERVICES_WORKER_PROCESS_H_
#define REIN_TESTS_SERVICES_WORKER_PROCESS_H_

#include <catch2/catch.hpp>
#include <csignal>
#include <optional>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/rpc/client.h"
#include "common/rpc/serve.h"
#include "common/testing/http.h"
#include "common/testing/prometheus_text.h"
#include "common/testing/subprocess.h"

namespace rein::testing {

// Writes `yaml` as run.yaml in a fresh folder and returns its path.
inline std::string WriteConfig(const std::string& yaml) {
  const std::string path = MakeTempDir("rein-worker-") + "/run.yaml";
  std::ofstream(path) << yaml;
  return path;
}

struct WorkerProcess {
  std::unique_ptr<Subprocess> process;
  std::string address;
  int metrics_port = 0;
  rpc::ClientOptions client;
  std::shared_ptr<grpc::Channel> channel;

  // The value of a sample on the worker's /metrics page; nullopt if absent.
  std::optional<double> Metric(const std::string& name) const {
    auto http = HttpGet("127.0.0.1", metrics_port, "/metrics");
    REQUIRE(http.ok());
    auto page = ParsePrometheusText(http->body);
    REQUIRE(page.ok());
    return page->Find(name, {});
  }
};

// Starts `binary` (a name under the build's bin/) with --config=`config` and `extra` flags,
// waits for its "listening on" and "metrics on" lines, and checks that `service` is SERVING.
inline WorkerProcess StartWorker(const std::string& binary, const std::string& config,
                                 const std::string& service,
                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {BuiltBinary(binary), "--config=" + config, "--port=0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  WorkerProcess worker;
  auto process = Subprocess::Start(argv);
  REQUIRE(process.ok());
  worker.process = *std::move(process);
  auto address = worker.process->WaitForLine(rpc::kListeningMarker, absl::Seconds(120));
  INFO(worker.process->output());
  REQUIRE(address.ok());
  worker.address = *address;
  auto metrics = worker.process->WaitForLine(rpc::kMetricsMarker, absl::Seconds(30));
  REQUIRE(metrics.ok());
  std::vector<std::string> host_port = absl::StrSplit(*metrics, ':');
  REQUIRE(host_port.size() == 2);
  REQUIRE(absl::SimpleAtoi(host_port[1], &worker.metrics_port));
  auto channel = rpc::CreateChannel(worker.address, worker.client);
  REQUIRE(channel.ok());
  worker.channel = *channel;
  CHECK(rpc::CheckHealth(*worker.channel, worker.client, "", absl::Seconds(10)).ok());
  CHECK(rpc::CheckHealth(*worker.channel, worker.client, service, absl::Seconds(10)).ok());
  return worker;
}

// Stops the worker with SIGTERM and expects a clean exit.
inline void StopWorker(WorkerProcess& worker) {
  REQUIRE(worker.process->Signal(SIGTERM).ok());
  auto exit_code = worker.process->Wait(absl::Seconds(60));
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
}

}  // namespace rein::testing

#endif  // REIN_TESTS_SERVICES_WORKER_PROCESS_H_
