// Model loading shared by the workers that serve a model (rollout, reward, reference): the
// config's `model.dtype` / `model.device` as model::ModelOptions.
//
// Kept apart from the services so that each service takes an already-loaded model (tests build
// theirs in-process) and only main.cc reads the config.
#ifndef REIN_SERVICES_WORKER_WORKER_MODEL_H_
#define REIN_SERVICES_WORKER_WORKER_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/config/experiment_config.h"
#include "common/model/causal_lm.h"

namespace rein::worker {

// ModelOptions for `heads` with the config's dtype (auto = the model's own choice) and device.
model::ModelOptions ModelOptionsFromConfig(const config::ModelConfig& model, model::Heads heads);

// CausalLM::Load of `dir` with ModelOptionsFromConfig; errors name the folder and `what`
// (e.g. "policy").
absl::StatusOr<std::unique_ptr<model::CausalLM>> LoadWorkerModel(const config::ModelConfig& model,
                                                                 const std::string& dir,
                                                                 model::Heads heads,
                                                                 absl::string_view what);

}  // namespace rein::worker

#endif  // REIN_SERVICES_WORKER_WORKER_MODEL_H_
