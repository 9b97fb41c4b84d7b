#include "common/rpc/token_auth.h"

#include <utility>

#include <prometheus/family.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rein::rpc {
namespace {

constexpr absl::string_view kAuthorization = "authorization";
constexpr absl::string_view kHealthPathPrefix = "/grpc.health.v1.Health/";

absl::string_view ToView(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

}  // namespace

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

TokenAuthProcessor::TokenAuthProcessor(std::string token, prometheus::Registry& registry)
    : expected_header_(absl::StrCat("Bearer ", token)),
      rejected_(prometheus::BuildCounter()
                    .Name("rein_rpc_server_unauthenticated_total")
                    .Help("Calls refused because they carried no valid bearer token.")
                    .Register(registry)
                    .Add({})) {}

grpc::Status TokenAuthProcessor::Process(const InputMetadata& auth_metadata,
                                         grpc::AuthContext* /*context*/,
                                         OutputMetadata* consumed_auth_metadata,
                                         OutputMetadata* /*response_metadata*/) {
  auto path = auth_metadata.find(":path");
  if (path != auth_metadata.end() && absl::StartsWith(ToView(path->second), kHealthPathPrefix)) {
    return grpc::Status::OK;
  }
  auto header = auth_metadata.find(std::string(kAuthorization));
  if (header == auth_metadata.end()) {
    rejected_.Increment();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing 'authorization: Bearer <token>' metadata");
  }
  if (!ConstantTimeEquals(ToView(header->second), expected_header_)) {
    rejected_.Increment();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid bearer token");
  }
  // Consumed: handlers never see the secret.
  consumed_auth_metadata->insert({std::string(kAuthorization), std::string(ToView(header->second))});
  return grpc::Status::OK;
}

}  // namespace rein::rpc
