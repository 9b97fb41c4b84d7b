#include <catch2/catch.hpp>
#include <thread>

#include "common/rpc/test_fixture.h"
#include "common/testing/http.h"
#include "common/testing/prometheus_text.h"
#include "common/metrics/metrics_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rein/testing/reflection_client.pb.h"

namespace rein::rpc {
namespace {

using rein::testing::EchoResponse;

TEST_CASE("a server on port 0 reports the port it chose and answers calls") {
  EchoServer echo;
  REQUIRE(echo.Start(ServerOptions{}).ok());
  CHECK(echo.server->port() > 0);
  CHECK(echo.server->address() == "127.0.0.1:" + std::to_string(echo.server->port()));
  auto stub = echo.Stub(FastClient());
  EchoResponse response;
  REQUIRE(CallEcho(*stub, FastClient(), "hello", &response).ok());
  CHECK(response.message() == "hello");
}

TEST_CASE("health reports SERVING for the server and each service, NOT_SERVING after shutdown") {
  EchoServer echo;
  REQUIRE(echo.Start(ServerOptions{}).ok());
  auto channel = *CreateChannel(echo.server->address(), FastClient());
  CHECK(CheckHealth(*channel, FastClient(), "", absl::Seconds(5)).ok());
  CHECK(CheckHealth(*channel, FastClient(), "rein.testing.Echo", absl::Seconds(5)).ok());
  CHECK(WaitUntilServing(*channel, FastClient(), "rein.testing.Echo", absl::Seconds(5)).ok());
  absl::Status unknown = CheckHealth(*channel, FastClient(), "no.Such", absl::Seconds(5));
  CHECK(unknown.code() == absl::StatusCode::kNotFound);
  echo.server->Shutdown();
  CHECK_FALSE(CheckHealth(*channel, FastClient(), "", absl::Seconds(2)).ok());
}

TEST_CASE("reflection lists the registered services") {
  EchoServer echo;
  REQUIRE(echo.Start(ServerOptions{}).ok());
  auto channel = *CreateChannel(echo.server->address(), FastClient());
  using rein::testing::reflection::ServerReflectionRequest;
  using rein::testing::reflection::ServerReflectionResponse;
  // The protocol's method, called through our own copy of its messages (see the .proto).
  grpc::internal::RpcMethod method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   grpc::internal::RpcMethod::BIDI_STREAMING, channel);
  auto context = NewCallContext(FastClient());
  std::unique_ptr<grpc::ClientReaderWriter<ServerReflectionRequest, ServerReflectionResponse>>
      stream(grpc::internal::ClientReaderWriterFactory<ServerReflectionRequest,
                                                       ServerReflectionResponse>::
                 Create(channel.get(), method, context.get()));
  ServerReflectionRequest request;
  request.set_list_services("");
  REQUIRE(stream->Write(request));
  stream->WritesDone();
  ServerReflectionResponse response;
  REQUIRE(stream->Read(&response));
  REQUIRE(stream->Finish().ok());
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  CHECK(std::find(names.begin(), names.end(), "rein.testing.Echo") != names.end());
  CHECK(std::find(names.begin(), names.end(), "grpc.health.v1.Health") != names.end());
}

TEST_CASE("/metrics serves valid Prometheus text with per-method counts and latencies") {
  EchoServer echo;
  REQUIRE(echo.Start(ServerOptions{}).ok());
  auto metrics = MetricsServer::Create({}, echo.registry);
  REQUIRE(metrics.ok());
  auto stub = echo.Stub(FastClient());
  EchoResponse response;
  for (int i = 0; i < 3; ++i) REQUIRE(CallEcho(*stub, FastClient(), "m", &response).ok());
  rein::testing::FailRequest fail;
  fail.set_key("metrics");
  fail.set_failures(1);
  fail.set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  rein::testing::FailResponse fail_response;
  auto context = NewCallContext(FastClient());
  CHECK(stub->FailFirstNotRetried(context.get(), fail, &fail_response).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);

  auto http = testing::HttpGet("127.0.0.1", (*metrics)->port(), "/metrics");
  REQUIRE(http.ok());
  CHECK(http->status_code == 200);
  auto page = testing::ParsePrometheusText(http->body);
  INFO(http->body);
  REQUIRE(page.ok());
  const std::string echo_method = "rein.testing.Echo/Echo";
  CHECK(page->Find("rein_rpc_server_handled_total", {{"method", echo_method}, {"code", "OK"}}) ==
        3.0);
  CHECK(page->Find("rein_rpc_server_handled_total",
                   {{"method", "rein.testing.Echo/FailFirstNotRetried"},
                    {"code", "FAILED_PRECONDITION"}}) == 1.0);
  CHECK(page->Find("rein_rpc_server_started_total", {{"method", echo_method}}) == 3.0);
  CHECK(page->Find("rein_rpc_server_handling_seconds_count", {{"method", echo_method}}) == 3.0);
  CHECK(page->families.at("rein_rpc_server_handling_seconds").type == "histogram");
}

TEST_CASE("shutdown lets a call in flight finish, then refuses new calls") {
  EchoServer echo;
  ServerOptions options;
  options.drain_timeout = absl::Seconds(20);
  REQUIRE(echo.Start(options).ok());
  auto stub = echo.Stub(FastClient());
  grpc::Status held_status;
  EchoResponse held_response;
  std::thread caller([&] {
    rein::testing::HoldRequest hold;
    hold.set_key("inflight");
    auto context = NewCallContext(FastClient());
    held_status = stub->Hold(context.get(), hold, &held_response);
  });
  echo.service.WaitForHolders(1);
  std::thread stopper([&] { echo.server->Shutdown(); });
  // Shutdown has begun once new calls are refused; each probe is one round trip.
  EchoResponse probe;
  while (CallEcho(*stub, FastClient(), "probe", &probe).ok()) {
  }
  // The held call is still in flight during the drain; let it finish.
  echo.service.ReleaseKey("inflight");
  caller.join();
  stopper.join();
  CHECK(held_status.ok());
  CHECK(held_response.message() == "released inflight");
  EchoResponse after;
  CHECK_FALSE(CallEcho(*stub, FastClient(), "late", &after).ok());
}

TEST_CASE("a call still running at the drain deadline is cancelled") {
  EchoServer echo;
  ServerOptions options;
  options.drain_timeout = absl::Milliseconds(200);
  REQUIRE(echo.Start(options).ok());
  auto stub = echo.Stub(FastClient());
  grpc::Status held_status;
  std::thread caller([&] {
    rein::testing::HoldRequest hold;
    hold.set_key("never-released");
    EchoResponse response;
    auto context = NewCallContext(FastClient());
    held_status = stub->Hold(context.get(), hold, &response);
  });
  echo.service.WaitForHolders(1);
  absl::Time start = absl::Now();
  echo.server->Shutdown();
  absl::Duration shutdown_took = absl::Now() - start;
  caller.join();
  // The server cancels the call and closes the connection; the client sees whichever of the
  // two reaches it first.
  CHECK_FALSE(held_status.ok());
  CHECK((held_status.error_code() == grpc::StatusCode::CANCELLED ||
         held_status.error_code() == grpc::StatusCode::UNAVAILABLE));
  CHECK(shutdown_took < absl::Seconds(5));
}

TEST_CASE("inconsistent server options are refused with a clear error") {
  EchoServer echo;
  ServerOptions bad_port;
  bad_port.port = 70000;
  CHECK(echo.Start(bad_port).code() == absl::StatusCode::kInvalidArgument);
  ServerOptions token_on_network;
  token_on_network.host = "0.0.0.0";
  token_on_network.auth_token = "secret";
  absl::Status status = echo.Start(token_on_network);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()).find("loopback") != std::string::npos);
  ServerOptions missing_cert;
  missing_cert.tls.cert_file = "/nonexistent/cert.pem";
  missing_cert.tls.key_file = "/nonexistent/key.pem";
  status = echo.Start(missing_cert);
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(status.message()).find("/nonexistent/cert.pem") != std::string::npos);
}

TEST_CASE("a port already in use is reported as UNAVAILABLE") {
  EchoServer first;
  REQUIRE(first.Start(ServerOptions{}).ok());
  EchoServer second;
  ServerOptions same_port;
  same_port.port = first.server->port();
  CHECK(second.Start(same_port).code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rein::rpc
