// Everything rein-feedback runs, built from the experiment config: the store, the gRPC
// Feedback service (admin), the HTTP API and page (annotators), metrics, and registration with
// the coordinator. Kept out of main.cc so that tests can build the same thing.
#ifndef REIN_SERVICES_FEEDBACK_FEEDBACK_SERVER_H_
#define REIN_SERVICES_FEEDBACK_FEEDBACK_SERVER_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/rpc/shutdown_signal.h"
#include "services/worker/worker_runtime.h"

namespace rein::feedback {

// Marker of the stdout line announcing the HTTP address, after the gRPC and metrics lines:
//   rein-feedback http on 127.0.0.1:40213
inline constexpr char kHttpMarker[] = " http on ";

// The admin token: feedback.admin_token_file, else server.auth_token_file, else
// server.auth.operator_token_file (the operator's token or verifier), else a token
// generated once into `fallback_path` (mode 0600) and reused on later starts.
absl::StatusOr<std::string> LoadAdminToken(const config::ExperimentConfig& config,
                                           const std::string& fallback_path);

// Serves until `shutdown` fires, then drains gRPC and stops HTTP.
absl::Status RunFeedbackServer(const worker::WorkerSetup& setup, rpc::ShutdownSignal& shutdown);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_FEEDBACK_SERVER_H_
