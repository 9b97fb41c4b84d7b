#include "common/rpc/token_auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace rein::rpc {
namespace {

constexpr absl::string_view kAuthorization = "authorization";
constexpr absl::string_view kBearer = "Bearer ";
constexpr absl::string_view kHealthPathPrefix = "/grpc.health.v1.Health/";
constexpr absl::string_view kDigestPrefix = "sha256:";
constexpr size_t kDigestBytes = 32;

absl::string_view ToView(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

std::string Sha256(absl::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::string TokenVerifier(absl::string_view token) {
  return absl::StrCat(kDigestPrefix, absl::BytesToHexString(Sha256(token)));
}

std::string NewToken() {
  unsigned char bytes[32];
  // RAND_bytes fails only when the OS has no entropy source at all; a guessable token would be
  // worse than no start.
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

absl::StatusOr<std::shared_ptr<TokenAuthProcessor>> TokenAuthProcessor::Create(
    const std::vector<RoleCredential>& credentials, prometheus::Registry& registry) {
  if (credentials.empty()) return absl::InvalidArgumentError("no credential to check calls by");
  std::vector<Verifier> verifiers;
  for (const RoleCredential& credential : credentials) {
    absl::string_view hex = credential.secret;
    if (!absl::ConsumePrefix(&hex, kDigestPrefix)) {
      if (credential.secret.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("the ", AuthRoleName(credential.role), " credential is empty"));
      }
      verifiers.push_back({credential.role, false, credential.secret});
      continue;
    }
    if (hex.size() != 2 * kDigestBytes || !IsLowerHex(hex)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", AuthRoleName(credential.role),
          " verifier must be 'sha256:' and 64 lowercase hex digits (reinctl auth verifier)"));
    }
    verifiers.push_back({credential.role, true, absl::HexStringToBytes(hex)});
  }
  return std::shared_ptr<TokenAuthProcessor>(
      new TokenAuthProcessor(std::move(verifiers), registry));
}

TokenAuthProcessor::TokenAuthProcessor(std::vector<Verifier> verifiers,
                                       prometheus::Registry& registry)
    : verifiers_(std::move(verifiers)),
      unauthenticated_(prometheus::BuildCounter()
                           .Name("rein_rpc_server_unauthenticated_total")
                           .Help("Calls refused because they carried no valid bearer token.")
                           .Register(registry)
                           .Add({})) {
  auto& denied = prometheus::BuildCounter()
                     .Name("rein_rpc_server_permission_denied_total")
                     .Help(
                         "Calls refused because the token's role may not call the method, "
                         "by that role.")
                     .Register(registry);
  for (AuthRole role : {AuthRole::kMonitor, AuthRole::kWorker, AuthRole::kOperator}) {
    permission_denied_[static_cast<size_t>(role)] = &denied.Add({{"role", AuthRoleName(role)}});
  }
}

std::optional<AuthRole> TokenAuthProcessor::RoleOf(absl::string_view token) const {
  const std::string digest = Sha256(token);
  // Every verifier is compared, matching or not, so the time taken does not tell which role
  // (or how many) a guess came close to; the highest matching role wins.
  std::optional<AuthRole> role;
  for (const Verifier& verifier : verifiers_) {
    const bool match = ConstantTimeEquals(verifier.is_digest ? digest : token, verifier.value);
    if (match && (!role || static_cast<int>(verifier.role) > static_cast<int>(*role))) {
      role = verifier.role;
    }
  }
  return role;
}

grpc::Status TokenAuthProcessor::Process(const InputMetadata& auth_metadata,
                                         grpc::AuthContext* context,
                                         OutputMetadata* consumed_auth_metadata,
                                         OutputMetadata* /*response_metadata*/) {
  auto path_entry = auth_metadata.find(":path");
  const absl::string_view path =
      path_entry == auth_metadata.end() ? absl::string_view() : ToView(path_entry->second);
  if (absl::StartsWith(path, kHealthPathPrefix)) return grpc::Status::OK;
  auto header = auth_metadata.find(std::string(kAuthorization));
  if (header == auth_metadata.end()) {
    unauthenticated_.Increment();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing 'authorization: Bearer <token>' metadata");
  }
  absl::string_view token = ToView(header->second);
  std::optional<AuthRole> role;
  if (absl::ConsumePrefix(&token, kBearer)) role = RoleOf(token);
  if (!role) {
    unauthenticated_.Increment();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid bearer token");
  }
  if (!Allows(*role, path)) {
    permission_denied_[static_cast<size_t>(*role)]->Increment();
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat(path, " needs the ", AuthRoleName(RequiredRole(path)),
                                     " role; this token has the ", AuthRoleName(*role), " role"));
  }
  context->AddProperty(kAuthRoleProperty, AuthRoleName(*role));
  // Consumed: handlers never see the secret.
  consumed_auth_metadata->insert(
      {std::string(kAuthorization), std::string(ToView(header->second))});
  return grpc::Status::OK;
}

}  // namespace rein::rpc
