#include "common/rpc/credentials.h"

#include <fstream>
#include <sstream>

#include <grpcpp/security/server_credentials.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::rpc {
namespace {

// Reads a PEM file; `what` says which option it came from, for the error message.
absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(what, ": cannot read '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = std::move(text).str();
  if (!absl::StrContains(pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": '", path, "' is not a PEM file"));
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeTlsServerCredentials(
    const ServerTlsOptions& tls) {
  if (tls.key_file.empty()) return absl::InvalidArgumentError("tls.cert given without tls.key");
  if (tls.require_client_cert && tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError("tls.require_client_cert needs tls.client_ca");
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(tls.cert_file, "tls.cert"));
  ASSIGN_OR_RETURN(pair.private_key, ReadPem(tls.key_file, "tls.key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(tls.client_ca_file, "tls.client_ca"));
  }
  ssl.client_certificate_request =
      tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
      : tls.client_ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                   : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         absl::StartsWith(host, "127.");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerOptions& options, std::shared_ptr<grpc::AuthMetadataProcessor> auth) {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (options.tls.enabled()) {
    ASSIGN_OR_RETURN(credentials, MakeTlsServerCredentials(options.tls));
  } else if (auth != nullptr) {
    if (!IsLoopbackHost(options.host)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "an auth token without TLS is allowed only on a loopback host (got '", options.host,
          "'): configure tls.cert and tls.key, or listen on 127.0.0.1"));
    }
    credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  } else {
    return grpc::InsecureServerCredentials();
  }
  if (auth != nullptr) credentials->SetAuthMetadataProcessor(std::move(auth));
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientOptions& options) {
  const ClientTlsOptions& tls = options.tls;
  if (!tls.enabled()) {
    if (!tls.cert_file.empty()) {
      return absl::InvalidArgumentError("a client certificate needs tls.ca to enable TLS");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError("client tls.cert and tls.key go together");
  }
  grpc::SslCredentialsOptions ssl;
  ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(tls.ca_file, "tls.ca"));
  if (!tls.cert_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPem(tls.cert_file, "tls.cert"));
    ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPem(tls.key_file, "tls.key"));
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace rein::rpc
