// How much memory a Hugging Face model folder's weights will take, estimated from its
// config.json alone, and the check that runs before any weight is allocated: a folder whose
// config describes a model beyond the memory budget, or whose safetensors files are far larger
// than its config says, is refused up front instead of failing an allocation (or being killed
// for memory) halfway through a load.
//
// No LibTorch here: the estimate is arithmetic on the config, so it is cheap to test.
//
// Thread safety: stateless functions.
#ifndef REIN_COMMON_MODEL_MODEL_SIZE_H_
#define REIN_COMMON_MODEL_MODEL_SIZE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/model_config.h"

namespace rein::model {

// `dir`/config.json, read and parsed: NOT_FOUND when it is missing, INVALID_ARGUMENT naming
// the file when it is over 16 MiB (no model's config is), not JSON, or not a config Rein knows.
absl::StatusOr<ModelConfig> ReadModelFolderConfig(const std::string& dir);

struct ParameterEstimate {
  // Parameters: embeddings (+ GPT-2's position table), every layer's attention and MLP weights
  // and biases and norms, the final norm, and an untied lm_head. Counted as double: a hostile
  // config's product must not overflow into a small number.
  double parameters = 0;
  // parameters x bytes per parameter.
  double bytes = 0;
};

// The estimate for `config` with `bytes_per_parameter` bytes each (2 for bf16, 4 for f32).
ParameterEstimate EstimateParameters(const ModelConfig& config, int bytes_per_parameter);

// Bytes per parameter of config.json's "torch_dtype" (bfloat16/float16: 2, float64: 8, anything
// else or absent: 4, what the loader uses on CPU).
int ConfigDtypeBytes(const ModelConfig& config);

// The budget used when none is configured: three quarters of physical memory (the rest is for
// activations, the KV cache, the process and the system).
uint64_t DefaultMemoryBudgetBytes();

struct ModelFolderBudget {
  // Most bytes the model's weights may take; 0 = DefaultMemoryBudgetBytes(). Default: 0.
  uint64_t memory_budget_bytes = 0;
  // Bytes per parameter the weights are loaded in; 0 = ConfigDtypeBytes. Default: 0.
  int bytes_per_parameter = 0;
};

// Reads `dir`/config.json and refuses, before anything is allocated:
// RESOURCE_EXHAUSTED naming the config when the estimate exceeds the budget (both in the
// message); INVALID_ARGUMENT naming the folder when its *.safetensors files together are larger
// than the config's parameters could fill at 8 bytes each plus room for headers (a header that
// claims 10^15 bytes of a sparse file). A config that does not parse is left to the loader,
// which names what is wrong with it.
absl::Status CheckModelFolderFits(const std::string& dir, const ModelFolderBudget& budget);

}  // namespace rein::model

#endif  // REIN_COMMON_MODEL_MODEL_SIZE_H_
