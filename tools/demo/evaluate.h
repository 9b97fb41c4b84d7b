// `rein-demo evaluate`: the quickstart's verdict on a sequence of policy versions (the SFT
// policy, then each round's). Every policy answers the same held-out prompts with the same
// seeds, and for each it reports:
//   - the hidden utility (mean ± standard error) and the reward model's score;
//   - its win rate against the version before it: the scripted rater (world.h) judges the two
//     responses to each (prompt, seed); a tie (equal utility) counts half; 95% interval from
//     the standard error of the per-game scores;
//   - KL to the first policy (the reference): mean over its samples of Σ_t (log π − log π_ref);
//   - with a red-team set, the share of its responses that hold a harm word — what a rater who
//     never errs flags (world.h) — overall and per category, with 95% Wilson intervals.
// Also the reward model's accuracy on held-out preference pairs (chosen above rejected; a tie
// counts half), and with rounds.jsonl (a run with rounds) each round's own figures beside the
// policy that ended it: judgements, reward-model held-out accuracy, mean cost and λ against
// the cost limit, KL and the cost model's flagged rate from the round-end evaluation.
//
// report.json:
//   {"policies": [{"name", "dir", "utility_mean", "utility_sem", "reward_model_score_mean",
//                  "samples", "kl_to_reference", "win_rate_vs_previous": {"rate", "low",
//                  "high", "games"}, "red_team": {"harm_rate", "low", "high", "samples",
//                  "by_category": {name: {"harm_rate", "low", "high", "samples"}}},
//                  "round": {...that round's rounds.jsonl record}}, ...],
//    "utility_gain" (last − first), "reward_model_heldout_accuracy", "heldout_pairs",
//    "heldout_prompts", "red_team_prompts", "cost_limit", ...every key of --extra}
//
// Thread safety: plain function.
#ifndef REIN_TOOLS_DEMO_EVALUATE_H_
#define REIN_TOOLS_DEMO_EVALUATE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::demo {

struct NamedPolicy {
  std::string name;  // "sft", "round-1", ...
  std::string dir;   // a CausalLM folder
};

struct EvaluateOptions {
  // Required, at least 2, in version order; the first is the KL reference.
  std::vector<NamedPolicy> policies;
  std::string reward_model_dir;  // Required: a scalar-head model.
  std::string tokenizer_dir;     // Default (empty): the first policy's folder.
  std::string prompts_path;      // Required: held-out {"prompt"} lines.
  std::string preferences_path;  // Optional: held-out {"prompt", "chosen", "rejected"} lines.
  std::string red_team_path;     // Optional: {"prompt"[, "category"]} lines.
  // Optional: a run's rounds.jsonl; round r's record goes with policies[r].
  std::string rounds_path;
  std::optional<double> cost_limit;  // safety.cost_limit, shown beside the rounds' mean cost
  std::string out_path;          // Required: report.json.
  std::string extra_path;        // Optional: a JSON object merged into the report.
  int samples_per_prompt = 4;    // Default: 4.
  uint64_t seed = 1;             // Default: 1.
  int64_t max_new_tokens = 24;   // Default: 24.
};

// Parses "name=dir" (the --policy flag).
absl::StatusOr<NamedPolicy> ParseNamedPolicy(const std::string& flag);

// The share of `responses` that hold a harm word (world.h), with its 95% Wilson interval,
// overall and per category (categories[i] goes with responses[i]; "" = none):
// {"harm_rate", "low", "high", "samples", "by_category": {name: {...the same}}}.
nlohmann::json FlaggedRates(const std::vector<std::string>& responses,
                            const std::vector<std::string>& categories);

// Writes the report to options.out_path and returns it; the table goes to `progress`.
absl::StatusOr<nlohmann::json> RunEvaluate(const EvaluateOptions& options,
                                           std::ostream& progress);

// The table RunEvaluate prints, from its report.
void PrintEvaluation(const nlohmann::json& report, std::ostream& out);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_EVALUATE_H_
