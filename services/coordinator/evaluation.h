// Evaluation during an RL run: the held-out prompts (data.eval_prompts) and the red-team set
// (eval.red_team) answered by the current policy and scored by the reward replicas (reward and,
// with a cost model, cost), every eval.every iterations, at each round's end and at the run's
// end. The same prompts with the same seeds every time, so evaluations are comparable.
//
// Statistics, per set ("eval", "red-team"): eval/<set>/reward_mean, eval/<set>/length_mean,
// and with costs eval/<set>/cost_mean, eval/<set>/flagged_rate (cost > eval.flag_threshold)
// and eval/<set>/flagged_rate/<category> for every category the set's prompts name. Each
// evaluation is a line {"eval_at": iteration, ...} in stats.jsonl and eval.jsonl, and the
// gauges rein_coordinator_eval_reward_mean{set}, rein_coordinator_eval_cost_mean{set} and
// rein_coordinator_eval_flagged_ratio{set,category} ("" = all).
//
// Thread safety: called from the run loop's thread only.
#ifndef REIN_SERVICES_COORDINATOR_EVALUATION_H_
#define REIN_SERVICES_COORDINATOR_EVALUATION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/data/prompt_dataset.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

// A set of prompts to evaluate, borrowed.
struct EvalSet {
  std::string name;  // "eval", "red-team"
  data::PromptDataset* prompts = nullptr;
};

struct EvaluationOptions {
  config::EvalConfig eval;
  uint64_t seed = 42;
  rein::v1::SamplingParams sampling;
  std::string run_dir;  // empty = no files
};

// One evaluated response.
struct EvalSample {
  Sample sample;         // prompt, response, reward, cost, policy version
  std::string category;  // the prompt's
  uint64_t prompt_index = 0;
};

struct EvalResult {
  rein::v1::Stats stats;
  // Per set name, every response (prompt order, then sample order).
  std::map<std::string, std::vector<EvalSample>> samples;
};

class Evaluator {
 public:
  Evaluator(EvaluationOptions options, StageContext stages, std::vector<EvalSet> sets,
            prometheus::Registry& metrics);
  ~Evaluator();

  // Whether iteration `iteration` is one of the every-K evaluations.
  bool Due(uint64_t iteration) const;
  // Evaluates every set after iteration `iteration` (of round `round`, 0 = none) and records it.
  absl::StatusOr<EvalResult> Evaluate(uint64_t iteration, uint32_t round);
  uint64_t last_evaluated() const { return last_evaluated_; }

 private:
  struct Metrics;
  absl::Status EvaluateSet(const EvalSet& set, EvalResult& result);

  const EvaluationOptions options_;
  const StageContext stages_;
  const std::vector<EvalSet> sets_;
  std::unique_ptr<Metrics> metrics_;
  uint64_t last_evaluated_ = 0;
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_EVALUATION_H_
