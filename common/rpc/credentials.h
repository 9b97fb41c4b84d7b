// Builds gRPC credentials from Rein's TLS and token options, reading PEM files with errors that
// name the file. Used only by Server and CreateChannel.
#ifndef REIN_COMMON_RPC_CREDENTIALS_H_
#define REIN_COMMON_RPC_CREDENTIALS_H_

#include <memory>
#include <string>

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "common/rpc/options.h"

namespace rein::rpc {

// Server credentials for `options`:
//  - TLS (and mutual TLS) when options.tls is enabled;
//  - with an auth token and no TLS: gRPC's local credentials, which accept loopback peers only,
//    so that a bearer token never travels over a network in plaintext;
//  - otherwise plaintext.
// `auth` (may be null) checks every call's metadata; it requires TLS or local credentials.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerOptions& options, std::shared_ptr<grpc::AuthMetadataProcessor> auth);

// Channel credentials for `options`: TLS when options.tls is enabled, plaintext otherwise.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientOptions& options);

// Whether `host` names the loopback interface (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_CREDENTIALS_H_
