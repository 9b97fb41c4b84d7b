// Model shapes the benchmarks build with random weights, as config.json contents: the real
// configs of the models Rein is sized for, and small ones for smoke tests.
//
// Thread safety: returns values.
#ifndef REIN_COMMON_BENCH_MODEL_SHAPES_H_
#define REIN_COMMON_BENCH_MODEL_SHAPES_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace rein::bench {

// "qwen3-0.6b": Qwen3-0.6B's config.json (transformers' Qwen3Config: hidden 1024, 28 layers,
//   16 heads, 8 KV heads, head_dim 128, SwiGLU 3072, vocabulary 151936, tied embeddings,
//   rope_theta 1e6, rms_norm_eps 1e-6, q/k norms), ~596M parameters.
// "small": ~10M parameters, Llama-style (8 layers of width 256, GQA 8/4, SwiGLU 704,
//   vocabulary 8192).
// "tiny": a Qwen3-style model of ~0.2M parameters (2 layers of width 64, vocabulary 512), for
//   tests that run a benchmark end to end in seconds.
// nullopt for any other name.
std::optional<nlohmann::json> ModelShape(const std::string& name);

}  // namespace rein::bench

#endif  // REIN_COMMON_BENCH_MODEL_SHAPES_H_
