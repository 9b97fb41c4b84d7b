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

// ModelOptions for `heads` with the config's dtype (auto = the model's own choice) and device
// (on CUDA, GPU `cuda_device`).
model::ModelOptions ModelOptionsFromConfig(const config::ModelConfig& model, model::Heads heads,
                                           int cuda_device = 0);

// learner.lora as model::LoraOptions (meaningful when rank > 0).
model::LoraOptions LoraOptionsFromConfig(const config::LoraConfig& lora);

// Gives a policy the adapters of learner.lora when it is on and the policy has none yet (a
// checkpoint's policy brings its own): the shape of what the learner trains and pushes. The
// adapters start as a no-op (B = 0), so the model computes the base until weights arrive.
// Errors: CausalLM::AddLora's, prefixed with "learner.lora".
absl::Status AddConfiguredLora(const config::LearnerConfig& learner, uint64_t seed,
                               model::CausalLM& policy);

// Whether `model.device` can be used by this build on this machine, checked at start-up before
// anything is loaded: FAILED_PRECONDITION naming model.device and what to do otherwise.
absl::Status CheckModelDevice(const config::ModelConfig& model, int cuda_device = 0);

// CausalLM::Load of `dir` with ModelOptionsFromConfig, after the memory budget check. Errors
// start with `config_key`, the key that named the folder (e.g. "model.policy"), and quote it.
absl::StatusOr<std::unique_ptr<model::CausalLM>> LoadWorkerModel(const config::ModelConfig& model,
                                                                 const std::string& dir,
                                                                 model::Heads heads,
                                                                 absl::string_view config_key);

}  // namespace rein::worker

#endif  // REIN_SERVICES_WORKER_WORKER_MODEL_H_
