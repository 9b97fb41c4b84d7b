// A Rein server as a separate process: port 0 reported on stdout, health, /metrics, and
// SIGTERM letting a call in flight finish before a clean exit.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/rpc/client.h"
#include "common/rpc/serve.h"
#include "common/testing/http.h"
#include "common/testing/prometheus_text.h"
#include "common/testing/subprocess.h"
#include "rein/testing/echo.grpc.pb.h"

namespace rein {
namespace {

using testing::Subprocess;

struct Started {
  std::unique_ptr<Subprocess> process;
  std::string address;
  int metrics_port = 0;
};

Started StartServer(const std::vector<std::string>& extra_args = {}) {
  std::vector<std::string> argv = {testing::BuiltBinary("rein-test-echo-server")};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto process = Subprocess::Start(argv);
  REQUIRE(process.ok());
  Started started{*std::move(process), "", 0};
  auto address = started.process->WaitForLine(rpc::kListeningMarker, absl::Seconds(30));
  REQUIRE(address.ok());
  started.address = *address;
  auto metrics = started.process->WaitForLine(rpc::kMetricsMarker, absl::Seconds(30));
  REQUIRE(metrics.ok());
  std::vector<std::string> host_port = absl::StrSplit(*metrics, ':');
  REQUIRE(host_port.size() == 2);
  REQUIRE(absl::SimpleAtoi(host_port[1], &started.metrics_port));
  return started;
}

TEST_CASE("a server process reports the ports it chose and serves health and /metrics") {
  Started server = StartServer();
  CHECK(server.address.rfind("127.0.0.1:", 0) == 0);
  rpc::ClientOptions options;
  auto channel = rpc::CreateChannel(server.address, options);
  REQUIRE(channel.ok());
  CHECK(rpc::CheckHealth(**channel, options, "rein.testing.Echo", absl::Seconds(10)).ok());

  auto http = testing::HttpGet("127.0.0.1", server.metrics_port, "/metrics");
  REQUIRE(http.ok());
  CHECK(http->status_code == 200);
  auto page = testing::ParsePrometheusText(http->body);
  REQUIRE(page.ok());
  CHECK(page->Find("rein_rpc_server_handled_total",
                   {{"method", "grpc.health.v1.Health/Check"}, {"code", "OK"}}) == 1.0);

  REQUIRE(server.process->Signal(SIGTERM).ok());
  CHECK(server.process->Wait(absl::Seconds(30)).value_or(-1) == 0);
}

TEST_CASE("SIGTERM lets a call in flight finish, then the process exits cleanly") {
  Started server = StartServer({"--drain_timeout=30s"});
  rpc::ClientOptions options;
  auto channel = rpc::CreateChannel(server.address, options);
  REQUIRE(channel.ok());
  auto stub = rein::testing::Echo::NewStub(*channel);
  grpc::Status status;
  rein::testing::EchoResponse response;
  std::thread caller([&] {
    rein::testing::HoldRequest hold;
    hold.set_key("work");
    hold.set_hold_ms(1500);  // The server works on this call for 1.5 s.
    auto context = rpc::NewCallContext(options, absl::Seconds(30));
    status = stub->Hold(context.get(), hold, &response);
  });
  REQUIRE(server.process->WaitForLine("hold work", absl::Seconds(30)).ok());
  REQUIRE(server.process->Signal(SIGTERM).ok());
  caller.join();
  CHECK(status.ok());
  CHECK(server.process->Wait(absl::Seconds(30)).value_or(-1) == 0);
}

TEST_CASE("a server process refuses calls without its token") {
  std::string dir = testing::MakeTempDir("rein-token-");
  std::string token_file = dir + "/token";
  { std::ofstream(token_file) << "process-secret\n"; }
  Started server = StartServer({"--auth_token_file=" + token_file});
  rpc::ClientOptions options;
  auto channel = rpc::CreateChannel(server.address, options);
  REQUIRE(channel.ok());
  auto stub = rein::testing::Echo::NewStub(*channel);
  rein::testing::EchoRequest request;
  rein::testing::EchoResponse response;
  auto context = rpc::NewCallContext(options);
  CHECK(stub->Echo(context.get(), request, &response).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  options.auth_token = "process-secret";
  context = rpc::NewCallContext(options);
  CHECK(stub->Echo(context.get(), request, &response).ok());
}

}  // namespace
}  // namespace rein
