#include "tools/bench_scale/model_facts.h"

#include <memory>

#include "common/status/status_macros.h"

namespace rein::bench_scale {

int64_t WeightBytes(const model::CausalLM& lm) {
  int64_t bytes = 0;
  for (const at::Tensor& p : lm.Parameters()) bytes += static_cast<int64_t>(p.nbytes());
  return bytes;
}

int64_t MatmulParameters(const model::CausalLM& lm) {
  int64_t elements = 0;
  for (const at::Tensor& p : lm.Parameters()) {
    if (p.dim() == 2) elements += p.numel();
  }
  const model::ModelConfig& c = lm.config();
  if (!c.tie_word_embeddings) elements -= c.vocab_size * c.hidden_size;
  return elements;
}

int64_t KvBytesPerPosition(const model::CausalLM& lm) {
  const model::ModelConfig& c = lm.config();
  return 2 * c.num_layers * c.num_kv_heads * c.head_dim *
         static_cast<int64_t>(c10::elementSize(lm.dtype()));
}

std::string DtypeName(at::ScalarType dtype) {
  if (dtype == at::kFloat) return "float32";
  if (dtype == at::kBFloat16) return "bfloat16";
  return c10::toString(dtype);
}

absl::Status WriteRandomCheckpoint(const nlohmann::json& config, const std::string& dir) {
  // In config.json's torch_dtype (Qwen3-0.6B's weights are published in bfloat16), so that
  // loading reads the bytes a real checkpoint would.
  model::ModelOptions options;
  if (config.value("torch_dtype", "") == "bfloat16") options.dtype = at::kBFloat16;
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> lm,
                   model::CausalLM::CreateRandom(config, /*seed=*/1, options));
  return lm->Save(dir);
}

}  // namespace rein::bench_scale
