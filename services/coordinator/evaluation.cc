#include "services/coordinator/evaluation.h"

#include <algorithm>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hash/stable_hash.h"
#include "common/log/log.h"
#include "common/metrics/families.h"
#include "common/status/status_macros.h"

namespace rein::coordinator {
struct Evaluator::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : reward(prometheus::BuildGauge()
                   .Name("rein_coordinator_eval_reward_mean")
                   .Help("Mean reward of the current policy's responses to an evaluation set.")
                   .Register(registry)),
        cost(prometheus::BuildGauge()
                 .Name("rein_coordinator_eval_cost_mean")
                 .Help("Mean cost (cost model logit) of the responses to an evaluation set.")
                 .Register(registry)),
        flagged(prometheus::BuildGauge()
                    .Name("rein_coordinator_eval_flagged_ratio")
                    .Help("Share of an evaluation set's responses whose cost is above "
                          "eval.flag_threshold, per prompt category (\"\" = all).")
                    .Register(registry)) {}

  prometheus::Family<prometheus::Gauge>& reward;
  prometheus::Family<prometheus::Gauge>& cost;
  prometheus::Family<prometheus::Gauge>& flagged;
};

Evaluator::Evaluator(EvaluationOptions options, StageContext stages, std::vector<EvalSet> sets,
                     prometheus::Registry& metrics)
    : options_(std::move(options)),
      stages_(stages),
      sets_(std::move(sets)),
      metrics_(std::make_unique<Metrics>(metrics)) {}

Evaluator::~Evaluator() = default;

bool Evaluator::Due(uint64_t iteration) const {
  return options_.eval.every > 0 && iteration % static_cast<uint64_t>(options_.eval.every) == 0;
}

absl::Status Evaluator::EvaluateSet(const EvalSet& set, EvalResult& result) {
  const size_t n = std::min(set.prompts->size(), static_cast<size_t>(options_.eval.max_prompts));
  set.prompts->Seek(0);
  const std::vector<data::Prompt> prompts = set.prompts->Next(n);
  // The same seeds at every evaluation: differences come from the policy, not the dice.
  const uint64_t set_seed = hash::HashBytes(set.name, options_.seed);
  std::vector<PromptItem> items;
  for (const data::Prompt& prompt : prompts) {
    items.push_back({prompt.index, prompt.token_ids, hash::SplitMix64(set_seed + prompt.index)});
  }
  GenerateOptions generate;
  generate.sampling = options_.sampling;
  generate.samples_per_prompt = static_cast<uint32_t>(options_.eval.samples);
  DispatchStats generate_stats, reward_stats;
  ASSIGN_OR_RETURN(std::vector<Sample> samples,
                   GenerateStage(stages_, items, generate, &generate_stats));
  RETURN_IF_ERROR(RewardStage(stages_, samples, &reward_stats));

  // Sums per category; "" is the whole set.
  struct Tally {
    double responses = 0, flagged = 0, cost = 0;
  };
  std::map<std::string, Tally> tallies;
  double reward = 0, length = 0;
  bool has_cost = false;
  std::vector<EvalSample>& kept = result.samples[set.name];
  for (size_t i = 0; i < samples.size(); ++i) {
    const data::Prompt& prompt = prompts[i / generate.samples_per_prompt];
    const Sample& s = samples[i];
    reward += s.reward;
    length += static_cast<double>(s.response_ids.size());
    if (s.cost.has_value()) {
      has_cost = true;
      const bool flagged = *s.cost > options_.eval.flag_threshold;
      auto count = [&](const std::string& category) {
        Tally& tally = tallies[category];
        tally.responses += 1;
        tally.flagged += flagged ? 1 : 0;
        tally.cost += *s.cost;
      };
      count("");
      if (!prompt.category.empty()) count(prompt.category);
    }
    kept.push_back({s, prompt.category, prompt.index});
  }
  const double count = static_cast<double>(std::max<size_t>(1, samples.size()));
  const std::string prefix = absl::StrCat("eval/", set.name, "/");
  SetStat(result.stats, prefix + "reward_mean", reward / count);
  SetStat(result.stats, prefix + "length_mean", length / count);
  metrics_->reward.Add({{"set", set.name}}).Set(reward / count);
  if (has_cost) {
    const Tally& all = tallies[""];
    SetStat(result.stats, prefix + "cost_mean", all.cost / all.responses);
    metrics_->cost.Add({{"set", set.name}}).Set(all.cost / all.responses);
    for (const auto& [category, tally] : tallies) {
      const double rate = tally.flagged / tally.responses;
      SetStat(result.stats,
              category.empty() ? prefix + "flagged_rate" : prefix + "flagged_rate/" + category,
              rate);
      metrics_->flagged.Add({{"set", set.name}, {"category", category}}).Set(rate);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<EvalResult> Evaluator::Evaluate(uint64_t iteration, uint32_t round) {
  const absl::Time start = absl::Now();
  EvalResult result;
  for (const EvalSet& set : sets_) {
    absl::Status evaluated = EvaluateSet(set, result);
    if (!evaluated.ok()) {
      return absl::Status(evaluated.code(), absl::StrCat("evaluating the ", set.name,
                                                         " set: ", evaluated.message()));
    }
  }
  last_evaluated_ = iteration;
  SetStat(result.stats, "time/eval_seconds", absl::ToDoubleSeconds(absl::Now() - start));
  nlohmann::json line = {{"eval_at", iteration}};
  if (round > 0) line["round"] = round;
  std::string summary;
  for (const auto& [key, value] : result.stats.values()) {
    line[key] = value;
    absl::StrAppendFormat(&summary, " %s %.4g", key, value);
  }
  if (!options_.run_dir.empty()) {
    for (const char* file : {"/eval.jsonl", "/stats.jsonl"}) {
      std::ofstream(options_.run_dir + file, std::ios::app) << line.dump() << "\n";
    }
  }
  REIN_LOG(INFO, "coordinator") << "evaluation after iteration " << iteration << ":" << summary;
  return result;
}

}  // namespace rein::coordinator
