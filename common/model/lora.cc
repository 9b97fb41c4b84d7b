// LoRA: option checks, the CausalLM accessors, merging, and PEFT's adapter folder.
#include "common/model/lora.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/checkpoint/safetensors.h"
#include "common/files/file_util.h"
#include "common/model/causal_lm.h"
#include "common/model/internal/errors.h"
#include "common/model/internal/transformer.h"
#include "common/status/status_macros.h"

namespace rein::model {
namespace {

using internal::TorchCall;
using Json = nlohmann::json;

constexpr char kConfigFile[] = "adapter_config.json";
constexpr char kWeightsFile[] = "adapter_model.safetensors";
// PEFT's PeftModelForCausalLM wraps the model as base_model.model.
constexpr char kPeftPrefix[] = "base_model.model.";

internal::Transformer& Impl(CausalLM& model) {
  return const_cast<internal::Transformer&>(internal::ModelAccess::Get(model));
}

absl::Status ConfigError(const std::string& path, absl::string_view key,
                         absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", key, " ", problem));
}

// PEFT writes target_modules as a list, or a string for "all-linear" and regexes.
absl::StatusOr<std::vector<std::string>> Targets(const Json& value, const std::string& path) {
  if (value.is_string() && value.get<std::string>() == "all-linear") return LoraTargetNames();
  if (!value.is_array()) {
    return ConfigError(path, "target_modules", "must be a list of module names or \"all-linear\"");
  }
  std::vector<std::string> targets;
  for (const Json& item : value) {
    if (!item.is_string()) return ConfigError(path, "target_modules", "must hold strings");
    targets.push_back(item.get<std::string>());
  }
  return targets;
}

// Keys whose non-default values change the adapters' math in ways Rein does not implement.
absl::Status CheckUnsupported(const Json& config, const std::string& path) {
  auto is_set = [&](const char* key) {
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return false;
    if (it->is_boolean()) return it->get<bool>();
    if (it->is_object() || it->is_array()) return !it->empty();
    return true;
  };
  for (const char* key : {"use_dora", "use_rslora", "fan_in_fan_out", "rank_pattern",
                          "alpha_pattern", "layers_to_transform", "modules_to_save"}) {
    if (is_set(key)) return ConfigError(path, key, "is set; Rein applies plain LoRA only");
  }
  if (config.contains("bias") && config["bias"] != "none") {
    return ConfigError(path, "bias", "must be \"none\" (Rein's adapters have no bias)");
  }
  return absl::OkStatus();
}

Json ConfigJson(const LoraOptions& options, const std::string& base_model) {
  return Json{{"peft_type", "LORA"},
              {"task_type", "CAUSAL_LM"},
              {"base_model_name_or_path", base_model},
              {"r", options.rank},
              {"lora_alpha", options.alpha},
              {"lora_dropout", 0.0},
              {"target_modules", options.target_modules},
              {"bias", "none"},
              {"fan_in_fan_out", false},
              {"inference_mode", true},
              {"init_lora_weights", true},
              {"use_rslora", false},
              {"use_dora", false}};
}

}  // namespace

const std::vector<std::string>& LoraTargetNames() {
  static const std::vector<std::string> names = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};
  return names;
}

absl::Status CheckLoraOptions(const LoraOptions& options) {
  if (options.rank < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("LoRA rank must be at least 1, got ", options.rank));
  }
  if (!(options.alpha > 0) || !std::isfinite(options.alpha)) {
    return absl::InvalidArgumentError(
        absl::StrCat("LoRA alpha must be a positive number, got ", options.alpha));
  }
  if (options.target_modules.empty()) {
    return absl::InvalidArgumentError("LoRA needs at least one target module");
  }
  const std::set<std::string> known(LoraTargetNames().begin(), LoraTargetNames().end());
  std::set<std::string> seen;
  for (const std::string& target : options.target_modules) {
    if (!known.count(target)) {
      return absl::InvalidArgumentError(absl::StrCat("LoRA target module '", target,
                                                     "' is not one of ",
                                                     absl::StrJoin(LoraTargetNames(), ", ")));
    }
    if (!seen.insert(target).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("LoRA target module '", target, "' is named twice"));
    }
  }
  return absl::OkStatus();
}

std::optional<LoraOptions> CausalLM::lora() const { return impl_->lora(); }

std::vector<std::pair<std::string, at::Tensor>> CausalLM::NamedAdapters() const {
  std::vector<std::pair<std::string, at::Tensor>> result;
  for (const internal::NamedWeight& w : impl_->lora_weights()) result.emplace_back(w.name, w.view);
  return result;
}

std::vector<at::Tensor> CausalLM::TrainableParameters() const {
  if (!impl_->lora()) return Parameters();
  std::vector<at::Tensor> result;
  for (const internal::NamedWeight& w : impl_->lora_weights()) result.push_back(w.view);
  return result;
}

std::vector<std::pair<std::string, at::Tensor>> CausalLM::NamedTrainableParameters() const {
  return impl_->lora() ? NamedAdapters() : NamedParameters();
}

absl::Status CausalLM::MergeLora() {
  if (!impl_->lora()) return absl::FailedPreconditionError("the model has no LoRA adapters");
  return TorchCall("merging LoRA adapters", [&] { impl_->MergeLora(); });
}

absl::Status SaveLoraAdapter(const CausalLM& model, const std::string& dir,
                             const std::string& base_model) {
  const std::optional<LoraOptions> options = model.lora();
  if (!options) return absl::FailedPreconditionError("the model has no LoRA adapters to save");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  RETURN_IF_ERROR(TorchCall("copying LoRA adapters", [&] {
    at::NoGradGuard no_grad;
    for (const auto& [name, view] : model.NamedAdapters()) {
      tensors.emplace_back(kPeftPrefix + name, view.to(at::kCPU, at::kFloat).contiguous());
    }
  }));
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return files::ErrnoError(error.value(), "creating", dir);
  RETURN_IF_ERROR(checkpoint::WriteSafetensors(absl::StrCat(dir, "/", kWeightsFile), tensors,
                                               {{"format", "pt"}}));
  const std::string text = ConfigJson(*options, base_model).dump(2) + "\n";
  const std::string config_path = absl::StrCat(dir, "/", kConfigFile);
  return files::WriteFileAtomically(config_path, [&](int fd) {
    return files::WriteAll(fd, text.data(), text.size(), config_path);
  });
}

absl::StatusOr<LoraOptions> ReadLoraConfig(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kConfigFile);
  ASSIGN_OR_RETURN(std::string text, files::ReadFile(path));
  const Json config = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return absl::InvalidArgumentError(path + ": not a JSON object");
  if (config.value("peft_type", "") != "LORA") {
    return ConfigError(path, "peft_type", "must be \"LORA\"");
  }
  RETURN_IF_ERROR(CheckUnsupported(config, path));
  LoraOptions options;
  if (!config.contains("r") || !config["r"].is_number_integer()) {
    return ConfigError(path, "r", "must be an integer");
  }
  options.rank = config["r"].get<int64_t>();
  if (!config.contains("lora_alpha") || !config["lora_alpha"].is_number()) {
    return ConfigError(path, "lora_alpha", "must be a number");
  }
  options.alpha = config["lora_alpha"].get<double>();
  if (!config.contains("target_modules")) return ConfigError(path, "target_modules", "is missing");
  ASSIGN_OR_RETURN(options.target_modules, Targets(config["target_modules"], path));
  if (absl::Status valid = CheckLoraOptions(options); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", valid.message()));
  }
  return options;
}

absl::Status LoadLoraAdapter(CausalLM& model, const std::string& dir) {
  if (model.lora()) return absl::FailedPreconditionError("the model has LoRA adapters already");
  ASSIGN_OR_RETURN(LoraOptions options, ReadLoraConfig(dir));
  const std::string path = absl::StrCat(dir, "/", kWeightsFile);
  ASSIGN_OR_RETURN(std::unique_ptr<checkpoint::SafetensorsFile> file,
                   checkpoint::SafetensorsFile::Open(path));
  std::map<std::string, at::Tensor> stored;
  for (const std::string& name : file->names()) {
    ASSIGN_OR_RETURN(at::Tensor tensor, file->Get(name));
    stored.emplace(name, std::move(tensor));
  }
  RETURN_IF_ERROR(model.AddLora(options, /*seed=*/0));
  absl::Status copied = TorchCall("loading LoRA adapters", [&]() -> absl::Status {
    at::NoGradGuard no_grad;
    for (auto& [name, view] : model.NamedAdapters()) {
      auto it = stored.find(kPeftPrefix + name);
      if (it == stored.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": adapter ", kPeftPrefix, name, " is missing"));
      }
      if (!it->second.sizes().equals(view.sizes()) ||
          !at::isFloatingType(it->second.scalar_type())) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": adapter ", it->first, " has shape [", absl::StrJoin(it->second.sizes(), ", "),
            "] of ", c10::toString(it->second.scalar_type()), "; the model's is [",
            absl::StrJoin(view.sizes(), ", "), "] floating point"));
      }
      view.copy_(it->second);
      stored.erase(it);
    }
    if (!stored.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": tensor ", stored.begin()->first,
                                                     " is not an adapter of this model"));
    }
    return absl::OkStatus();
  });
  if (!copied.ok()) Impl(model).DropLora();  // the model is as it was
  return copied;
}

}  // namespace rein::model
