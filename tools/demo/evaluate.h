// `rein-demo evaluate`: the quickstart's verdict. Samples responses to held-out prompts from the
// SFT policy and the PPO policy with the same seeds and compares them on the hidden utility
// (mean ± standard error), on the reward model's score, and measures how far PPO moved from the
// SFT policy (its reference): KL = mean over PPO samples of Σ_t (log π_ppo − log π_sft). Also
// the reward model's accuracy on held-out preference pairs (chosen scored above rejected; an
// exact tie counts half).
//
// report.json:
//   {"sft": {"utility_mean", "utility_sem", "reward_model_score_mean", "samples"},
//    "ppo": {...the same...}, "utility_gain", "kl_to_reference",
//    "reward_model_heldout_accuracy", "heldout_pairs", "heldout_prompts", ...every key of
//    --extra}
//
// Thread safety: plain function.
#ifndef REIN_TOOLS_DEMO_EVALUATE_H_
#define REIN_TOOLS_DEMO_EVALUATE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"

namespace rein::demo {

struct EvaluateOptions {
  std::string sft_dir;           // Required: the SFT policy, also the KL reference.
  std::string ppo_dir;           // Required: the PPO policy.
  std::string reward_model_dir;  // Required: a scalar-head model.
  std::string tokenizer_dir;     // Default (empty): sft_dir.
  std::string prompts_path;      // Required: held-out {"prompt"} lines.
  std::string preferences_path;  // Required: held-out {"prompt", "chosen", "rejected"} lines.
  std::string out_path;          // Required: report.json.
  std::string extra_path;        // Optional: a JSON object merged into the report.
  int samples_per_prompt = 4;    // Default: 4.
  uint64_t seed = 1;             // Default: 1.
  int64_t max_new_tokens = 24;   // Default: 24.
};

// Writes the report to options.out_path and returns it; the table goes to `progress`.
absl::StatusOr<nlohmann::json> RunEvaluate(const EvaluateOptions& options,
                                           std::ostream& progress);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_EVALUATE_H_
