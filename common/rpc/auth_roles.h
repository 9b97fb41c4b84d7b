// Who may call what, when a Rein cluster runs with per-role credentials (server.auth.*).
//
// Three roles, each a superset of the one before:
//   monitor   reads only: Coordinator/Status, rein-feedback's campaign and annotator listings,
//             reflection. Dashboards, alerting and `reinctl status` use it.
//   worker    the data plane: Register and the KV store on the coordinator; Generate,
//             LoadWeights, Score, LogProbs, Train, PushWeights, GetWeights between workers (the
//             learner pushes weights to rollouts itself). Every worker process presents it.
//   operator  everything, including what changes or persists a run: Start, Pause, Resume, Stop,
//             Set, Checkpoint on the coordinator; Reload on reward replicas; SaveCheckpoint and
//             Restore on learners; rein-feedback's campaign management. `reinctl` presents it.
//
// The coordinator presents the operator credential on its own calls to workers: it is the
// operator's agent (it checkpoints, restores and reloads workers because an operator asked,
// or because the run's plan says so), and those calls must be out of a worker's reach, so that
// one compromised worker cannot rewrite another's weights from a checkpoint of its choosing or
// stop the run. A separate coordinator role would grant exactly what operator grants, so it
// would add a secret without narrowing anything.
//
// Servers that must accept a role's calls without holding its secret (every worker accepts the
// operator's calls) may be given a verifier instead of the token: "sha256:<64 hex digits>", the
// SHA-256 of the token. Only the coordinator and reinctl then need the operator token itself.
//
// Methods not in the table need the operator role: a new method is closed until it is listed.
#ifndef REIN_COMMON_RPC_AUTH_ROLES_H_
#define REIN_COMMON_RPC_AUTH_ROLES_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace grpc {
class ServerContext;
}  // namespace grpc

namespace rein::rpc {

// Ordered: a role may call everything a lower one may.
enum class AuthRole { kMonitor = 0, kWorker = 1, kOperator = 2 };

// "monitor", "worker", "operator".
const char* AuthRoleName(AuthRole role);
std::optional<AuthRole> ParseAuthRole(absl::string_view name);

// The least role that may call `method`, a gRPC path ("/rein.v1.Coordinator/Pause").
AuthRole RequiredRole(absl::string_view method);

// Whether `role` may call `method`.
inline bool Allows(AuthRole role, absl::string_view method) {
  return static_cast<int>(role) >= static_cast<int>(RequiredRole(method));
}

// The AuthContext property that carries the caller's role name, set by TokenAuthProcessor.
inline constexpr char kAuthRoleProperty[] = "rein.auth_role";

// The role the caller of `context` authenticated as: a role name, or "anonymous" on a server
// without auth. For logs: "Pause requested by ipv4:127.0.0.1:5123 (operator)".
std::string CallerRole(const grpc::ServerContext& context);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_AUTH_ROLES_H_
