// rein-reference: serves Reference.LogProbs with the frozen reference model.
//
//   rein-reference --config run.yaml [--port 0] [--coordinator host:port] [--capacity N]
// Loads model.reference (empty = model.policy) with its LM head, once; it never changes.
#include "absl/flags/parse.h"
#include "common/log/log.h"
#include "common/process/process_setup.h"
#include "common/status/status_macros.h"
#include "services/reference/reference_service.h"
#include "services/worker/token_sequences.h"
#include "services/worker/worker_model.h"
#include "services/worker/worker_runtime.h"

namespace rein::reference {
namespace {

absl::Status RunReference(rpc::ShutdownSignal& shutdown) {
  ASSIGN_OR_RETURN(worker::WorkerSetup setup, worker::LoadWorkerSetup("reference"));
  const config::ExperimentConfig& c = setup.config;
  log::SetMinLevel(c.run.log_level);
  RETURN_IF_ERROR(worker::CheckModelDevice(c.model));
  const int capacity =
      setup.capacity_override > 0 ? setup.capacity_override : c.reference.capacity;
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> model,
                   worker::LoadWorkerModel(
                       c.model, c.model.ReferencePath(), model::Heads::kLm,
                       c.model.reference.empty() ? "model.policy (the reference)"
                                                 : "model.reference"));
  auto registry = std::make_shared<prometheus::Registry>();
  ReferenceServiceOptions options;
  options.max_sequences_per_call = worker::kRequestCapacityFactor * capacity;
  options.scoring.pack_sequences = c.model.sequence_packing;
  ASSIGN_OR_RETURN(std::unique_ptr<ReferenceService> service,
                   ReferenceService::Create(std::move(model), options, *registry));
  return worker::ServeWorker(setup, rein::v1::ROLE_REFERENCE, capacity,
                             {rpc::Bind<rein::v1::Reference>(service.get())}, registry, shutdown);
}

}  // namespace
}  // namespace rein::reference

int main(int argc, char** argv) {
  auto shutdown = rein::rpc::ShutdownSignal::Install();
  rein::ParseFlags(argc, argv,
                   "rein-reference --config run.yaml [--port 0] [--coordinator host:port]: log-probs of the frozen reference model");
  rein::InitProcess("reference");
  absl::Status status = rein::reference::RunReference(*shutdown);
  if (!status.ok()) {
    REIN_LOG(ERROR, "main") << status;
    return 1;
  }
  return 0;
}
