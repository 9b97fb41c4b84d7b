#include "common/rpc/auth_roles.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include <array>
#include <utility>

namespace rein::rpc {
namespace {

struct MethodRole {
  absl::string_view method;
  AuthRole role;
};

// The one table of who may call what; anything missing needs kOperator.
constexpr std::array kMethodRoles = {
    // Coordinator: workers join and share rendezvous keys; monitors read the run's status.
    MethodRole{"/rein.v1.Coordinator/Register", AuthRole::kWorker},
    MethodRole{"/rein.v1.Coordinator/KvSet", AuthRole::kWorker},
    MethodRole{"/rein.v1.Coordinator/KvGet", AuthRole::kWorker},
    MethodRole{"/rein.v1.Coordinator/Status", AuthRole::kMonitor},
    // The data plane between the coordinator and workers, and between workers.
    MethodRole{"/rein.v1.Rollout/Generate", AuthRole::kWorker},
    MethodRole{"/rein.v1.Rollout/LoadWeights", AuthRole::kWorker},
    MethodRole{"/rein.v1.Reward/Score", AuthRole::kWorker},
    MethodRole{"/rein.v1.Reference/LogProbs", AuthRole::kWorker},
    MethodRole{"/rein.v1.Learner/Train", AuthRole::kWorker},
    MethodRole{"/rein.v1.Learner/PushWeights", AuthRole::kWorker},
    MethodRole{"/rein.v1.Learner/GetWeights", AuthRole::kWorker},
    // rein-feedback: reads for dashboards; campaign management stays with the operator.
    MethodRole{"/rein.v1.Feedback/ListCampaigns", AuthRole::kMonitor},
    MethodRole{"/rein.v1.Feedback/ListAnnotators", AuthRole::kMonitor},
    MethodRole{"/rein.v1.Feedback/GetCampaignStatus", AuthRole::kMonitor},
    // grpcurl's service listing.
    MethodRole{"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
               AuthRole::kMonitor},
};

constexpr std::array<std::pair<AuthRole, absl::string_view>, 3> kRoleNames = {{
    {AuthRole::kMonitor, "monitor"},
    {AuthRole::kWorker, "worker"},
    {AuthRole::kOperator, "operator"},
}};

}  // namespace

const char* AuthRoleName(AuthRole role) {
  for (const auto& [r, name] : kRoleNames) {
    if (r == role) return name.data();
  }
  return "unknown";
}

std::optional<AuthRole> ParseAuthRole(absl::string_view name) {
  for (const auto& [role, role_name] : kRoleNames) {
    if (role_name == name) return role;
  }
  return std::nullopt;
}

AuthRole RequiredRole(absl::string_view method) {
  for (const MethodRole& entry : kMethodRoles) {
    if (entry.method == method) return entry.role;
  }
  return AuthRole::kOperator;
}

std::string CallerRole(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "anonymous";
  std::vector<grpc::string_ref> values = auth->FindPropertyValues(kAuthRoleProperty);
  if (values.empty()) return "anonymous";
  return std::string(values.front().data(), values.front().size());
}

}  // namespace rein::rpc
