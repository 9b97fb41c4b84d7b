#include "services/worker/worker_model.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/model/folder_budget.h"

namespace rein::worker {

model::ModelOptions ModelOptionsFromConfig(const config::ModelConfig& model, model::Heads heads,
                                           int cuda_device) {
  model::ModelOptions options;
  options.heads = heads;
  switch (model.device) {
    case config::Device::kCpu: options.device = c10::Device(c10::kCPU); break;
    case config::Device::kCuda:
      options.device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(cuda_device));
      break;
  }
  switch (model.dtype) {
    case config::DType::kAuto: options.dtype = std::nullopt; break;
    case config::DType::kF32: options.dtype = at::kFloat; break;
    case config::DType::kBF16: options.dtype = at::kBFloat16; break;
    case config::DType::kF16: options.dtype = at::kHalf; break;
  }
  return options;
}

absl::Status CheckModelDevice(const config::ModelConfig& model, int cuda_device) {
  const absl::Status usable = model::CheckDeviceUsable(
      ModelOptionsFromConfig(model, model::Heads::kAuto, cuda_device).device);
  if (usable.ok()) return usable;
  return absl::Status(usable.code(),
                      absl::StrCat("model.device: ", usable.message(),
                                   ". Set model.device: cpu, or run a build against a CUDA "
                                   "LibTorch (README: \"Building on a GPU machine\")"));
}

model::LoraOptions LoraOptionsFromConfig(const config::LoraConfig& lora) {
  return {.rank = lora.rank, .alpha = lora.alpha, .target_modules = lora.target_modules};
}

absl::Status AddConfiguredLora(const config::LearnerConfig& learner, uint64_t seed,
                               model::CausalLM& policy) {
  if (learner.lora.rank == 0 || policy.lora()) return absl::OkStatus();
  const absl::Status added = policy.AddLora(LoraOptionsFromConfig(learner.lora), seed);
  if (added.ok()) return added;
  return absl::Status(added.code(), absl::StrCat("learner.lora: ", added.message()));
}

absl::StatusOr<std::unique_ptr<model::CausalLM>> LoadWorkerModel(const config::ModelConfig& model,
                                                                 const std::string& dir,
                                                                 model::Heads heads,
                                                                 absl::string_view config_key) {
  if (dir.empty()) return absl::InvalidArgumentError(absl::StrCat(config_key, " is not set"));
  const model::ModelOptions options = ModelOptionsFromConfig(model, heads);
  const absl::Status fits = model::CheckFolderFits(dir, options, model.memory_budget_bytes);
  absl::StatusOr<std::unique_ptr<model::CausalLM>> loaded =
      fits.ok() ? model::CausalLM::Load(dir, options)
                : absl::StatusOr<std::unique_ptr<model::CausalLM>>(fits);
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(),
                        absl::StrCat(config_key, ": cannot load the model in '", dir,
                                     "': ", loaded.status().message()));
  }
  REIN_LOG(INFO, "worker") << "loaded " << config_key << " from " << dir << " ("
                           << (*loaded)->config().num_layers << " layers, vocabulary "
                           << (*loaded)->config().vocab_size << ")";
  return loaded;
}

}  // namespace rein::worker
