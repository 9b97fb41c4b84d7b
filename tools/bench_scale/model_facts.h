// What the scale benchmark's limits are computed from: the bytes a decode step must read, the
// parameters a forward pass multiplies by, and the random checkpoint everything loads.
//
// Thread safety: functions of their arguments (the model is only read).
#ifndef REIN_TOOLS_BENCH_SCALE_MODEL_FACTS_H_
#define REIN_TOOLS_BENCH_SCALE_MODEL_FACTS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "common/model/causal_lm.h"

namespace rein::bench_scale {

// Bytes of every weight tensor, each counted once (a tied embedding once, as the LM head): what
// one decode step reads at least, whatever the batch.
int64_t WeightBytes(const model::CausalLM& lm);

// Elements of the matrices a token's forward pass multiplies by: every 2-D weight, the LM head
// included, less an untied input embedding (a row lookup, no multiply). A forward costs ~2x
// this in FLOPs per token, forward + backward ~6x.
int64_t MatmulParameters(const model::CausalLM& lm);

// Bytes of keys and values one cached position holds over all layers, in the model's dtype.
int64_t KvBytesPerPosition(const model::CausalLM& lm);

// "float32", "bfloat16" (the names the flags take), else LibTorch's name.
std::string DtypeName(at::ScalarType dtype);

// Writes a model of `config` with random weights (seed 1, float32) to `dir`, which must not
// exist, as CausalLM::Save does.
absl::Status WriteRandomCheckpoint(const nlohmann::json& config, const std::string& dir);

}  // namespace rein::bench_scale

#endif  // REIN_TOOLS_BENCH_SCALE_MODEL_FACTS_H_
