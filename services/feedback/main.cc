// rein-feedback: collects judgements from people and synthetic annotators.
//
//   rein-feedback --config run.yaml [--port 0] [--coordinator host:port]
// Serves rein.v1.Feedback (admin token) on --port, the annotator page and HTTP/JSON API on
// feedback.http_port, and /metrics; the store is feedback.store (SQLite file by default).
#include "absl/flags/parse.h"
#include "common/log/log.h"
#include "common/process/process_setup.h"
#include "common/status/status_macros.h"
#include "services/feedback/feedback_server.h"

namespace rein::feedback {
namespace {

absl::Status Run(rpc::ShutdownSignal& shutdown) {
  ASSIGN_OR_RETURN(worker::WorkerSetup setup, worker::LoadWorkerSetup("feedback"));
  log::SetMinLevel(setup.config.run.log_level);
  return RunFeedbackServer(setup, shutdown);
}

}  // namespace
}  // namespace rein::feedback

int main(int argc, char** argv) {
  auto shutdown = rein::rpc::ShutdownSignal::Install();
  rein::ParseFlags(argc, argv,
                   "rein-feedback --config run.yaml [--port 0] [--coordinator host:port]: collects judgements (gRPC admin API, annotator page and HTTP API)");
  rein::InitProcess("feedback");
  absl::Status status = rein::feedback::Run(*shutdown);
  if (!status.ok()) {
    REIN_LOG(ERROR, "main") << status;
    return 1;
  }
  return 0;
}
