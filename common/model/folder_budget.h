// The memory budget a model folder is checked against (model_size.h) before CausalLM::Load:
// the bytes per parameter follow the ModelOptions the folder will be loaded with.
#ifndef REIN_COMMON_MODEL_FOLDER_BUDGET_H_
#define REIN_COMMON_MODEL_FOLDER_BUDGET_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/model/causal_lm.h"
#include "common/model/model_size.h"

namespace rein::model {

// `memory_budget_bytes` (0 = the default, see model_size.h) at options.dtype's element size:
// float32 on CPU when unset, config.json's torch_dtype on CUDA (what CausalLM::Load does).
inline ModelFolderBudget FolderBudget(const ModelOptions& options, uint64_t memory_budget_bytes) {
  ModelFolderBudget budget;
  budget.memory_budget_bytes = memory_budget_bytes;
  if (options.dtype) {
    budget.bytes_per_parameter = static_cast<int>(c10::elementSize(*options.dtype));
  } else if (options.device.is_cpu()) {
    budget.bytes_per_parameter = 4;
  }
  return budget;
}

// CheckModelFolderFits for `dir` loaded with `options`.
inline absl::Status CheckFolderFits(const std::string& dir, const ModelOptions& options,
                                    uint64_t memory_budget_bytes) {
  return CheckModelFolderFits(dir, FolderBudget(options, memory_budget_bytes));
}

}  // namespace rein::model

#endif  // REIN_COMMON_MODEL_FOLDER_BUDGET_H_
