// CausalLM: construction (checkpoint, random), heads, saving, and the argument checks in front of
// the unchecked Transformer.
#include "common/model/causal_lm.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/checkpoint/hf_checkpoint.h"
#include "common/model/internal/errors.h"
#include "common/model/internal/transformer.h"
#include "common/model/internal/validate.h"
#include "common/status/status_macros.h"

namespace rein::model {
namespace {

using internal::InitKind;
using internal::NamedWeight;
using internal::TorchCall;
using internal::Transformer;
using TensorMap = std::map<std::string, at::Tensor>;

std::string ShapeString(at::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape.vec(), ", "), "]");
}

absl::StatusOr<at::ScalarType> ResolveDtype(const ModelOptions& options, const ModelConfig& c) {
  at::ScalarType dtype = at::kFloat;
  if (options.dtype) {
    dtype = *options.dtype;
  } else if (options.device.is_cuda() && c.raw.contains("torch_dtype") &&
             c.raw.at("torch_dtype").is_string()) {
    const std::string name = c.raw.at("torch_dtype").get<std::string>();
    if (name == "bfloat16") dtype = at::kBFloat16;
    if (name == "float16") dtype = at::kHalf;
  }
  if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf && dtype != at::kDouble) {
    return absl::InvalidArgumentError(
        absl::StrCat("model dtype must be floating point, got ", c10::toString(dtype)));
  }
  if (!options.device.is_cpu() && !options.device.is_cuda()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported device ", options.device.str(), " (cpu or cuda)"));
  }
  return dtype;
}

// Fills every weight as transformers' _init_weights does, deterministically from `seed`.
void InitRandom(const std::vector<NamedWeight>& weights, double stddev, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const NamedWeight& w : weights) {
    at::Tensor value = at::empty(w.view.sizes(), at::TensorOptions().dtype(at::kFloat));
    switch (w.init) {
      case InitKind::kNormal:
        value.normal_(0.0, stddev, generator);
        break;
      case InitKind::kOnes:
        value.fill_(1.0);
        break;
      case InitKind::kZeros:
        value.zero_();
        break;
      case InitKind::kFanInUniform: {
        const double bound = 1.0 / std::sqrt(static_cast<double>(value.size(1)));
        value.uniform_(-bound, bound, generator);
        break;
      }
    }
    w.view.copy_(value);
  }
}

// Old GPT-2 files name the trunk without "transformer."; give such names the prefix.
TensorMap CanonicalGpt2Names(const TensorMap& tensors) {
  for (const auto& [name, tensor] : tensors) {
    if (absl::StartsWith(name, "transformer.")) return tensors;
  }
  TensorMap renamed;
  for (const auto& [name, tensor] : tensors) {
    const bool head = absl::StartsWith(name, "lm_head.") || absl::StartsWith(name, "score.");
    renamed.emplace(head ? name : "transformer." + name, tensor);
  }
  return renamed;
}

absl::StatusOr<std::unique_ptr<Transformer>> Build(const nlohmann::json& config_json,
                                                   const TensorMap* tensors,
                                                   const ModelOptions& options) {
  RETURN_IF_ERROR(CheckDeviceUsable(options.device));
  ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(config_json));
  ASSIGN_OR_RETURN(at::ScalarType dtype, ResolveDtype(options, config));
  bool lm = options.heads == Heads::kLm || options.heads == Heads::kLmAndScalar;
  bool scalar = options.heads == Heads::kScalar || options.heads == Heads::kLmAndScalar;
  if (options.heads == Heads::kAuto) {
    lm = !config.sequence_classification;
    scalar = config.sequence_classification || (tensors && tensors->count("score.weight") > 0);
  }
  auto impl = std::make_unique<Transformer>(std::move(config), dtype, options.device);
  RETURN_IF_ERROR(
      TorchCall("allocating weights", [&] { impl->Allocate(lm, scalar, "transformer."); }));
  if (tensors == nullptr) return impl;

  const ModelConfig& c = impl->config();
  const TensorMap named = c.family == Family::kGpt2 ? CanonicalGpt2Names(*tensors) : *tensors;
  checkpoint::NameFilter ignore;
  if (c.family == Family::kGpt2) ignore.suffixes = {".attn.bias", ".attn.masked_bias"};
  if (!lm || c.tie_word_embeddings) ignore.prefixes.push_back("lm_head.weight");
  if (!scalar) ignore.prefixes.push_back("score.weight");
  std::set<std::string> expected;
  for (const NamedWeight& w : impl->named_weights()) expected.insert(w.name);
  RETURN_IF_ERROR(checkpoint::CheckTensorNames(expected, named, ignore));
  for (const NamedWeight& w : impl->named_weights()) {
    const at::Tensor& source = named.at(w.name);
    if (source.sizes() != w.view.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor ", w.name, " has shape ", ShapeString(source.sizes()), " but config.json (",
          c.model_type, ") implies ", ShapeString(w.view.sizes())));
    }
    if (!c10::isFloatingType(source.scalar_type())) {
      return absl::InvalidArgumentError(absl::StrCat("tensor ", w.name, " is not floating point"));
    }
    RETURN_IF_ERROR(TorchCall("loading weights", [&] {
      at::NoGradGuard no_grad;
      w.view.copy_(source);
    }));
  }
  return impl;
}

std::string ArchitecturePrefix(const std::string& model_type) {
  if (model_type == "gpt2") return "GPT2";
  if (model_type == "qwen2") return "Qwen2";
  if (model_type == "qwen3") return "Qwen3";
  if (model_type == "mistral") return "Mistral";
  return "Llama";
}

std::string DtypeName(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16:
      return "bfloat16";
    case at::kHalf:
      return "float16";
    case at::kDouble:
      return "float64";
    default:
      return "float32";
  }
}

}  // namespace

KvCache::~KvCache() = default;

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (const auto* list : {&keys_, &values_}) {
    for (const at::Tensor& t : *list) total += t.numel() * static_cast<int64_t>(t.element_size());
  }
  return total;
}

absl::Status KvCache::CopySlot(int64_t from, int64_t to, int64_t length) {
  if (from < 0 || from >= slots_ || to < 0 || to >= slots_ || length < 0 || length > capacity_) {
    return absl::InvalidArgumentError(absl::StrCat("CopySlot(", from, ", ", to, ", ", length,
                                                   ") outside ", slots_, " slots x ", capacity_));
  }
  if (from == to || length == 0) return absl::OkStatus();
  return TorchCall("copying cache slot", [&] {
    for (auto* list : {&keys_, &values_}) {
      for (at::Tensor& t : *list) t[to].narrow(1, 0, length).copy_(t[from].narrow(1, 0, length));
    }
  });
}

absl::Status CheckDeviceUsable(const c10::Device& device) {
  if (device.is_cpu()) return absl::OkStatus();
  if (!device.is_cuda()) {
    return absl::UnimplementedError(absl::StrCat("device ", device.str(), " is not supported"));
  }
  if (!at::hasCUDA()) {
    return absl::FailedPreconditionError(
        absl::StrCat(device.str(),
                     " asked for, but this build's LibTorch has no CUDA support (a CPU-only "
                     "build, such as Debian's)"));
  }
  const int64_t visible = static_cast<int64_t>(at::getNumGPUs());
  if (device.index() >= visible) {
    return absl::FailedPreconditionError(
        absl::StrCat(device.str(), " asked for, but this process sees ", visible, " GPU(s)"));
  }
  return absl::OkStatus();
}

CausalLM::CausalLM(std::unique_ptr<Transformer> impl) : impl_(std::move(impl)) {}
CausalLM::~CausalLM() = default;

absl::StatusOr<std::unique_ptr<CausalLM>> CausalLM::Load(const std::string& dir,
                                                         const ModelOptions& options) {
  RETURN_IF_ERROR(CheckDeviceUsable(options.device));  // before any weight is read
  ASSIGN_OR_RETURN(checkpoint::HfCheckpoint ckpt, checkpoint::LoadHfCheckpoint(dir));
  ASSIGN_OR_RETURN(std::unique_ptr<CausalLM> model, FromCheckpoint(ckpt, options));
  // A LoRA-trained policy's folder (a learner checkpoint) holds its adapters beside the base.
  std::error_code error;
  if (std::filesystem::exists(std::filesystem::path(dir) / "adapter_config.json", error)) {
    RETURN_IF_ERROR(LoadLoraAdapter(*model, dir));
  }
  return model;
}

absl::StatusOr<std::unique_ptr<CausalLM>> CausalLM::FromCheckpoint(
    const checkpoint::HfCheckpoint& checkpoint, const ModelOptions& options) {
  ASSIGN_OR_RETURN(auto impl, Build(checkpoint.config, &checkpoint.tensors, options));
  return std::unique_ptr<CausalLM>(new CausalLM(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<CausalLM>> CausalLM::CreateRandom(const nlohmann::json& config,
                                                                 uint64_t seed,
                                                                 const ModelOptions& options) {
  ModelOptions resolved = options;
  if (resolved.heads == Heads::kAuto) resolved.heads = Heads::kLm;
  ASSIGN_OR_RETURN(auto impl, Build(config, nullptr, resolved));
  RETURN_IF_ERROR(TorchCall("initialising weights", [&] {
    InitRandom(impl->named_weights(), impl->config().initializer_range, seed);
  }));
  return std::unique_ptr<CausalLM>(new CausalLM(std::move(impl)));
}

const ModelConfig& CausalLM::config() const { return impl_->config(); }
at::ScalarType CausalLM::dtype() const { return impl_->dtype(); }
c10::Device CausalLM::device() const { return impl_->device(); }
bool CausalLM::has_lm_head() const { return impl_->has_lm_head(); }
bool CausalLM::has_scalar_head() const { return impl_->has_scalar_head(); }

void CausalLM::SetGradientCheckpointing(bool on) { impl_->set_gradient_checkpointing(on); }
bool CausalLM::gradient_checkpointing() const { return impl_->gradient_checkpointing(); }

absl::Status CausalLM::AddScalarHead(uint64_t seed) {
  if (has_scalar_head()) return absl::FailedPreconditionError("the model has a scalar head");
  return TorchCall("adding scalar head", [&] {
    NamedWeight head = impl_->AllocateScalarHead();
    InitRandom({head}, config().initializer_range, seed);
  });
}

absl::Status CausalLM::AddLora(const LoraOptions& options, uint64_t seed) {
  RETURN_IF_ERROR(CheckLoraOptions(options));
  if (impl_->lora()) return absl::FailedPreconditionError("the model has LoRA adapters already");
  if (config().family != Family::kLlama) {
    return absl::UnimplementedError(absl::StrCat(
        "LoRA adapters for model_type ", config().model_type, " (the Llama family has them)"));
  }
  return TorchCall("adding LoRA adapters", [&] {
    impl_->AddLora(options);
    InitRandom(impl_->lora_weights(), config().initializer_range, seed);
  });
}

absl::StatusOr<at::Tensor> CausalLM::Hidden(const TokenBatch& batch) const {
  ASSIGN_OR_RETURN(internal::CheckedBatch checked, internal::CheckTokenBatch(*impl_, batch));
  return TorchCall("forward", [&] {
    return impl_->Forward(checked.input_ids, checked.position_ids, checked.attention_mask,
                          batch.adapters);
  });
}

absl::StatusOr<at::Tensor> CausalLM::HiddenPacked(const at::Tensor& ids,
                                                  const std::vector<int64_t>& lengths,
                                                  bool adapters) const {
  ASSIGN_OR_RETURN(internal::CheckedPacked checked, internal::CheckPacked(*impl_, ids, lengths));
  return TorchCall("packed forward", [&] {
    return impl_->ForwardPacked(checked.input_ids, checked.position_ids, lengths, adapters)
        .squeeze(0);
  });
}

absl::StatusOr<at::Tensor> CausalLM::Logits(const TokenBatch& batch) const {
  if (!has_lm_head()) return absl::FailedPreconditionError("the model has no LM head");
  ASSIGN_OR_RETURN(at::Tensor hidden, Hidden(batch));
  return TorchCall("lm head", [&] { return impl_->LmLogits(hidden); });
}

absl::StatusOr<at::Tensor> CausalLM::LmLogits(const at::Tensor& hidden) const {
  if (!has_lm_head()) return absl::FailedPreconditionError("the model has no LM head");
  ASSIGN_OR_RETURN(at::Tensor h, internal::CheckHidden(*impl_, hidden));
  return TorchCall("lm head", [&] { return impl_->LmLogits(h); });
}

absl::StatusOr<at::Tensor> CausalLM::ScalarValues(const at::Tensor& hidden) const {
  if (!has_scalar_head()) return absl::FailedPreconditionError("the model has no scalar head");
  ASSIGN_OR_RETURN(at::Tensor h, internal::CheckHidden(*impl_, hidden));
  return TorchCall("scalar head", [&] { return impl_->ScalarValues(h); });
}

absl::StatusOr<std::unique_ptr<KvCache>> CausalLM::NewKvCache(int64_t slots,
                                                              int64_t capacity) const {
  if (slots <= 0 || capacity <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV cache needs slots > 0 and capacity > 0, got ", slots, " x ", capacity));
  }
  if (config().family == Family::kGpt2 && capacity > config().max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("KV cache capacity ", capacity,
                                                   " exceeds GPT-2's n_positions ",
                                                   config().max_position_embeddings));
  }
  std::unique_ptr<KvCache> cache(new KvCache(slots, capacity));
  RETURN_IF_ERROR(TorchCall("allocating KV cache", [&] { impl_->AllocateCache(*cache); }));
  return cache;
}

absl::StatusOr<at::Tensor> CausalLM::HiddenCached(const CachedBatch& batch, KvCache& cache) const {
  if (cache.keys_.size() != static_cast<size_t>(config().num_layers) ||
      cache.keys_.front().size(1) != config().num_kv_heads ||
      cache.keys_.front().size(3) != config().head_dim ||
      cache.keys_.front().scalar_type() != dtype() || cache.keys_.front().device() != device()) {
    return absl::InvalidArgumentError("the KV cache was not made by this model");
  }
  ASSIGN_OR_RETURN(internal::CheckedCachedBatch checked,
                   internal::CheckCachedBatch(*impl_, batch, cache));
  return TorchCall("cached forward", [&] {
    return impl_->ForwardCached(checked.input_ids, checked.position_ids, checked.step);
  });
}

std::vector<std::pair<std::string, at::Tensor>> CausalLM::NamedParameters() const {
  std::vector<std::pair<std::string, at::Tensor>> result;
  for (const NamedWeight& w : impl_->named_weights()) result.emplace_back(w.name, w.view);
  return result;
}

std::vector<at::Tensor> CausalLM::Parameters() const { return impl_->leaves(); }

absl::Status CausalLM::Save(const std::string& dir) const {
  nlohmann::json config_json = config().raw;
  const std::string prefix = ArchitecturePrefix(config().model_type);
  if (has_lm_head()) {
    config_json["architectures"] = {prefix + (prefix == "GPT2" ? "LMHeadModel" : "ForCausalLM")};
  } else {
    config_json["architectures"] = {prefix + "ForSequenceClassification"};
    config_json["id2label"] = {{"0", "LABEL_0"}};
    config_json["label2id"] = {{"LABEL_0", 0}};
  }
  config_json["torch_dtype"] = DtypeName(dtype());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  RETURN_IF_ERROR(TorchCall("copying weights", [&] {
    at::NoGradGuard no_grad;
    for (const auto& [name, view] : NamedParameters()) {
      tensors.emplace_back(name, view.cpu().contiguous());
    }
  }));
  return checkpoint::SaveHfCheckpoint(dir, config_json, tensors);
}

}  // namespace rein::model
