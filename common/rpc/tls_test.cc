#include <catch2/catch.hpp>

#include "common/rpc/test_fixture.h"

namespace rein::rpc {
namespace {

using rein::testing::EchoResponse;

ServerOptions TlsServer(bool mutual) {
  ServerOptions options;
  options.tls.cert_file = CertPath("server.pem");
  options.tls.key_file = CertPath("server.key");
  if (mutual) {
    options.tls.client_ca_file = CertPath("ca.pem");
    options.tls.require_client_cert = true;
  }
  return options;
}

ClientOptions TlsClient(const std::string& ca, const std::string& cert = "") {
  ClientOptions options = FastClient();
  options.tls.ca_file = CertPath(ca);
  if (!cert.empty()) {
    options.tls.cert_file = CertPath(cert + ".pem");
    options.tls.key_file = CertPath(cert + ".key");
  }
  return options;
}

grpc::Status Call(const EchoServer& echo, const ClientOptions& options) {
  EchoResponse response;
  auto stub = echo.Stub(options);
  if (stub == nullptr) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
  return CallEcho(*stub, options, "tls", &response);
}

TEST_CASE("TLS: a client trusting the server's CA connects") {
  EchoServer echo;
  REQUIRE(echo.Start(TlsServer(false)).ok());
  CHECK(Call(echo, TlsClient("ca.pem")).ok());
}

TEST_CASE("TLS: a plaintext client and a client trusting another CA are refused") {
  EchoServer echo;
  REQUIRE(echo.Start(TlsServer(false)).ok());
  CHECK(Call(echo, FastClient()).error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(Call(echo, TlsClient("other_ca.pem")).error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("mTLS: a client certificate from the trusted CA is accepted") {
  EchoServer echo;
  REQUIRE(echo.Start(TlsServer(true)).ok());
  CHECK(Call(echo, TlsClient("ca.pem", "client")).ok());
}

TEST_CASE("mTLS: no client certificate, or one from an untrusted CA, is refused") {
  EchoServer echo;
  REQUIRE(echo.Start(TlsServer(true)).ok());
  CHECK_FALSE(Call(echo, TlsClient("ca.pem")).ok());
  CHECK_FALSE(Call(echo, TlsClient("ca.pem", "other_client")).ok());
}

TEST_CASE("TLS with a token: both must be right") {
  EchoServer echo;
  ServerOptions options = TlsServer(false);
  options.host = "127.0.0.1";
  options.auth_token = "tls-token";
  REQUIRE(echo.Start(options).ok());
  ClientOptions good = TlsClient("ca.pem");
  good.auth_token = "tls-token";
  CHECK(Call(echo, good).ok());
  ClientOptions no_token = TlsClient("ca.pem");
  CHECK(Call(echo, no_token).error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("TLS options that do not fit together are refused") {
  EchoServer echo;
  ServerOptions no_key = TlsServer(false);
  no_key.tls.key_file.clear();
  CHECK(echo.Start(no_key).code() == absl::StatusCode::kInvalidArgument);
  ServerOptions mutual_without_ca = TlsServer(false);
  mutual_without_ca.tls.require_client_cert = true;
  CHECK(echo.Start(mutual_without_ca).code() == absl::StatusCode::kInvalidArgument);
  ServerOptions not_pem = TlsServer(false);
  not_pem.tls.cert_file = testing::SourcePath("CMakeLists.txt");
  CHECK(echo.Start(not_pem).code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::rpc
