#include <catch2/catch.hpp>

#include "common/rpc/test_fixture.h"

namespace rein::rpc {
namespace {

using rein::testing::EchoResponse;
using rein::testing::FailRequest;
using rein::testing::FailResponse;

FailRequest Failing(const std::string& key, int failures, grpc::StatusCode code) {
  FailRequest request;
  request.set_key(key);
  request.set_failures(failures);
  request.set_code(static_cast<int>(code));
  return request;
}

ClientOptions RetryingEchoClient() {
  ClientOptions options = FastClient();
  options.retryable_methods = {"rein.testing.Echo/FailFirst"};
  options.retry.initial_backoff = absl::Milliseconds(10);
  options.retry.max_backoff = absl::Milliseconds(50);
  return options;
}

TEST_CASE("idempotent methods are retried after UNAVAILABLE through the service config") {
  EchoServer echo;
  REQUIRE(echo.Start(ServerOptions{}).ok());
  ClientOptions options = RetryingEchoClient();
  auto stub = echo.Stub(options);
  FailResponse response;
  auto context = NewCallContext(options);
  grpc::Status status = stub->FailFirst(context.get(),
                                        Failing("retried", 2, grpc::StatusCode::UNAVAILABLE),
                                        &response);
  REQUIRE(status.ok());
  CHECK(response.attempts() == 3);
}

TEST_CASE("retries stop at max_attempts and surface the last error") {
  EchoServer echo;
  REQUIRE(echo.Start(ServerOptions{}).ok());
  ClientOptions options = RetryingEchoClient();
  options.retry.max_attempts = 2;
  auto stub = echo.Stub(options);
  FailResponse response;
  auto context = NewCallContext(options);
  grpc::Status status = stub->FailFirst(
      context.get(), Failing("exhausted", 5, grpc::StatusCode::UNAVAILABLE), &response);
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(status.error_message() == "planned failure 2");
}

TEST_CASE("methods not declared idempotent, and non-retryable codes, are not retried") {
  EchoServer echo;
  REQUIRE(echo.Start(ServerOptions{}).ok());
  ClientOptions options = RetryingEchoClient();
  auto stub = echo.Stub(options);
  FailResponse response;
  auto context = NewCallContext(options);
  CHECK(stub->FailFirstNotRetried(context.get(),
                                  Failing("once", 1, grpc::StatusCode::UNAVAILABLE), &response)
            .error_code() == grpc::StatusCode::UNAVAILABLE);
  context = NewCallContext(options);
  CHECK(stub->FailFirst(context.get(), Failing("internal", 1, grpc::StatusCode::INTERNAL),
                        &response)
            .error_code() == grpc::StatusCode::INTERNAL);
}

TEST_CASE("every call carries a deadline") {
  EchoServer echo;
  REQUIRE(echo.Start(ServerOptions{}).ok());
  ClientOptions options = FastClient();
  auto stub = echo.Stub(options);
  rein::testing::HoldRequest hold;
  hold.set_key("never");
  EchoResponse response;
  auto context = NewCallContext(options, absl::Milliseconds(200));
  CHECK(stub->Hold(context.get(), hold, &response).error_code() ==
        grpc::StatusCode::DEADLINE_EXCEEDED);
  // A context made without an explicit deadline gets the default one.
  auto defaulted = NewCallContext(options);
  auto remaining = defaulted->deadline() - std::chrono::system_clock::now();
  CHECK(remaining > std::chrono::seconds(5));
  CHECK(remaining <= std::chrono::seconds(10));
}

TEST_CASE("the retry service config names each method and the policy") {
  ClientOptions options;
  options.retryable_methods = {"a.B/C", "a.D"};
  std::string config = RetryServiceConfig(options);
  CHECK(config.find(R"({"service":"a.B","method":"C"})") != std::string::npos);
  CHECK(config.find(R"({"service":"a.D"})") != std::string::npos);
  CHECK(config.find(R"("maxAttempts":4)") != std::string::npos);
  CHECK(config.find(R"("initialBackoff":"0.100s")") != std::string::npos);
  CHECK(config.find(R"("retryableStatusCodes":["UNAVAILABLE"])") != std::string::npos);
  // Non-idempotent Rein methods are never in the default list.
  std::vector<std::string> defaults = IdempotentReinMethods();
  CHECK(std::find(defaults.begin(), defaults.end(), "rein.v1.Learner/Train") == defaults.end());
  CHECK(std::find(defaults.begin(), defaults.end(), "rein.v1.Rollout/Generate") != defaults.end());
}

TEST_CASE("token auth accepts the right token and refuses a wrong or missing one") {
  EchoServer echo;
  ServerOptions server_options;
  server_options.auth_token = "s3cret";
  REQUIRE(echo.Start(server_options).ok());
  ClientOptions good = FastClient();
  good.auth_token = "s3cret";
  ClientOptions wrong = FastClient();
  wrong.auth_token = "guess";
  ClientOptions none = FastClient();
  EchoResponse response;

  REQUIRE(CallEcho(*echo.Stub(good), good, "in", &response).ok());
  CHECK(response.authorization_seen().empty());  // The secret is consumed, not passed on.
  grpc::Status refused = CallEcho(*echo.Stub(wrong), wrong, "in", &response);
  CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  refused = CallEcho(*echo.Stub(none), none, "in", &response);
  CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(refused.error_message().find("authorization") != std::string::npos);
}

TEST_CASE("health checks need no token, so orchestrators can probe") {
  EchoServer echo;
  ServerOptions server_options;
  server_options.auth_token = "s3cret";
  REQUIRE(echo.Start(server_options).ok());
  auto channel = *CreateChannel(echo.server->address(), FastClient());
  CHECK(CheckHealth(*channel, FastClient(), "", absl::Seconds(5)).ok());
}

TEST_CASE("bad client options are refused with a clear error") {
  CHECK(CreateChannel("", FastClient()).status().code() == absl::StatusCode::kInvalidArgument);
  ClientOptions missing_ca = FastClient();
  missing_ca.tls.ca_file = "/nonexistent/ca.pem";
  absl::Status status = CreateChannel("127.0.0.1:1", missing_ca).status();
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(status.message()).find("/nonexistent/ca.pem") != std::string::npos);
  ClientOptions cert_without_ca = FastClient();
  cert_without_ca.tls.cert_file = CertPath("client.pem");
  CHECK(CreateChannel("127.0.0.1:1", cert_without_ca).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::rpc
