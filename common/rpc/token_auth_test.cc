#include "common/rpc/token_auth.h"

#include <catch2/catch.hpp>

#include "common/rpc/test_fixture.h"

namespace rein::rpc {
namespace {

using rein::testing::EchoResponse;

const std::vector<RoleCredential> kRoles = {
    {AuthRole::kWorker, "worker-token"},
    {AuthRole::kOperator, TokenVerifier("operator-token")},
    {AuthRole::kMonitor, "monitor-token"},
};

double PermissionDenied(prometheus::Registry& registry, const std::string& role) {
  for (const auto& family : registry.Collect()) {
    if (family.name != "rein_rpc_server_permission_denied_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "role" && label.value == role) return metric.counter.value;
      }
    }
  }
  return -1;
}

TEST_CASE("a token maps to its role, through the token or its verifier") {
  prometheus::Registry registry;
  auto processor = TokenAuthProcessor::Create(kRoles, registry);
  REQUIRE(processor.ok());
  CHECK((*processor)->RoleOf("worker-token") == AuthRole::kWorker);
  CHECK((*processor)->RoleOf("operator-token") == AuthRole::kOperator);
  CHECK((*processor)->RoleOf("monitor-token") == AuthRole::kMonitor);
  // The verifier itself is no token: holding it grants nothing.
  CHECK_FALSE((*processor)->RoleOf(TokenVerifier("operator-token")).has_value());
  CHECK_FALSE((*processor)->RoleOf("worker-toke").has_value());
  CHECK_FALSE((*processor)->RoleOf("").has_value());
}

TEST_CASE("a verifier is sha256: and 64 lowercase hex digits") {
  CHECK(TokenVerifier("abc") ==
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  prometheus::Registry registry;
  CHECK(TokenAuthProcessor::Create({{AuthRole::kOperator, "sha256:abcd"}}, registry)
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(TokenAuthProcessor::Create({{AuthRole::kWorker, ""}}, registry).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(TokenAuthProcessor::Create({}, registry).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("fresh tokens are 64 hex digits and differ") {
  const std::string a = NewToken();
  CHECK(a.size() == 64);
  CHECK(a != NewToken());
}

struct RoleServer {
  EchoServer echo;
  RoleServer() {
    ServerOptions options;
    options.role_credentials = kRoles;
    REQUIRE(echo.Start(options).ok());
  }
  grpc::Status Call(const std::string& token) {
    ClientOptions client = FastClient();
    client.auth_token = token;
    EchoResponse response;
    return CallEcho(*echo.Stub(client), client, "hi", &response);
  }
};

// Echo is in no role table entry, so it needs the operator role like any unlisted method.
TEST_CASE("over a server: a lower role gets PERMISSION_DENIED naming the role needed") {
  RoleServer server;
  CHECK(server.Call("operator-token").ok());
  grpc::Status worker = server.Call("worker-token");
  CHECK(worker.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(worker.error_message(),
             Catch::Contains("needs the operator role") && Catch::Contains("has the worker role"));
  CHECK(server.Call("monitor-token").error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(PermissionDenied(*server.echo.registry, "worker") == 1);
  CHECK(PermissionDenied(*server.echo.registry, "monitor") == 1);
  CHECK(PermissionDenied(*server.echo.registry, "operator") == 0);
}

TEST_CASE("over a server: an unknown token or a verifier as token is UNAUTHENTICATED") {
  RoleServer server;
  CHECK(server.Call("guess").error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(server.Call(TokenVerifier("operator-token")).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(server.Call("").error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("over a server: the single auth_token is every role at once") {
  EchoServer echo;
  ServerOptions options;
  options.auth_token = "one-token";
  options.role_credentials = {{AuthRole::kWorker, "worker-token"}};
  REQUIRE(echo.Start(options).ok());
  ClientOptions client = FastClient();
  client.auth_token = "one-token";
  EchoResponse response;
  CHECK(CallEcho(*echo.Stub(client), client, "hi", &response).ok());
}

}  // namespace
}  // namespace rein::rpc
