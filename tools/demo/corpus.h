// `rein-demo corpus`: writes the synthetic world's files for the quickstart.
//
//   DIR/tokenizer/               tokenizer.json + tokenizer_config.json (tokenizer_writer.h)
//   DIR/sft.jsonl                {"prompt", "response"}: World::SampleSftResponse's mixture
//   DIR/prompts.jsonl            {"prompt"}: PPO training prompts, red_team_share of them
//                                red-team prompts (world.h)
//   DIR/heldout_prompts.jsonl    {"prompt"}: evaluation prompts, never used by the two above
//   DIR/red_team.jsonl           {"prompt", "category"}: held-out red-team prompts (eval)
//   DIR/red_team_train.jsonl     {"prompt", "category"}: red-team prompts from the training
//                                pool, for a first flag campaign on the SFT policy
//   DIR/policy-init/             a tiny random Llama (config.json, model.safetensors) + tokenizer
//   DIR/world.json               the world for humans (topics, words, utility rules)
//
// Thread safety: plain function.
#ifndef REIN_TOOLS_DEMO_CORPUS_H_
#define REIN_TOOLS_DEMO_CORPUS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace rein::demo {

struct CorpusOptions {
  std::string out_dir;         // Required; must not exist or be empty.
  uint64_t seed = 1;           // Default: 1.
  int sft_examples = 4000;     // Default: 4000.
  int prompts = 2000;          // PPO training prompts. Default: 2000.
  int heldout_prompts = 200;   // Evaluation prompts. Default: 200.
  // Share of red-team prompts among the SFT examples and the PPO prompts. Default: 0.25.
  double red_team_share = 0.25;
  int red_team_prompts = 128;        // Held-out red-team prompts. Default: 128.
  int red_team_train_prompts = 400;  // Default: 400.
  // The initial policy (Llama). Defaults: 64 hidden, 2 layers, 4 heads, 128 intermediate,
  // 64 positions.
  int hidden_size = 64;
  int num_layers = 2;
  int num_heads = 4;
  int intermediate_size = 128;
  int max_position_embeddings = 64;
};

// The config.json of the initial policy for a tokenizer of `vocab_size` ids ending with `eos_id`
// (the embedding is rounded up to a multiple of 64).
nlohmann::json PolicyConfig(const CorpusOptions& options, int64_t vocab_size, int64_t eos_id);

// Writes every file; progress lines go to `progress`.
absl::Status WriteCorpus(const CorpusOptions& options, std::ostream& progress);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_CORPUS_H_
