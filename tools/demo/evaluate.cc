#include "tools/demo/evaluate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "tools/demo/jsonl.h"
#include "tools/demo/policy.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

constexpr double kZ95 = 1.959964;

absl::Status CheckOptions(const EvaluateOptions& o) {
  if (o.policies.size() < 2) {
    return absl::InvalidArgumentError("--policy must be given at least twice (name=dir)");
  }
  for (const auto& [value, flag] :
       {std::pair(&o.reward_model_dir, "--reward_model"), std::pair(&o.prompts_path, "--prompts"),
        std::pair(&o.out_path, "--out")}) {
    if (value->empty()) return absl::InvalidArgumentError(absl::StrCat(flag, " is required"));
  }
  if (o.samples_per_prompt < 1) {
    return absl::InvalidArgumentError("--samples_per_prompt must be at least 1");
  }
  if (o.max_new_tokens < 1) return absl::InvalidArgumentError("--max_new_tokens must be >= 1");
  return absl::OkStatus();
}

struct Summary {
  double mean = 0;
  double sem = 0;
};

Summary Summarise(const std::vector<double>& values) {
  Summary s;
  if (values.empty()) return s;
  const double n = static_cast<double>(values.size());
  for (double v : values) s.mean += v;
  s.mean /= n;
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.sem = std::sqrt(ss / (n - 1)) / std::sqrt(n);
  }
  return s;
}

// A rate with its 95% Wilson score interval.
Json Rate(int hits, int n) {
  if (n == 0) return {{"harm_rate", nullptr}, {"low", nullptr}, {"high", nullptr}, {"samples", 0}};
  const double p = static_cast<double>(hits) / n;
  const double z2 = kZ95 * kZ95;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = kZ95 * std::sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
  return {{"harm_rate", p},
          {"low", std::max(0.0, centre - half)},
          {"high", std::min(1.0, centre + half)},
          {"samples", n}};
}

// Prompts, each asked samples_per_prompt times with its own seed (the same for every policy).
struct PromptSet {
  std::vector<std::string> prompts;
  std::vector<std::string> categories;  // red team: per prompt ("" = none)
  std::vector<TokenIds> encoded;        // per prompt
  std::vector<TokenIds> requests;       // per sample
  std::vector<uint64_t> seeds;
  std::vector<size_t> prompt_of;
};

absl::StatusOr<PromptSet> MakePromptSet(const tokenizer::Tokenizer& tok,
                                        std::vector<std::string> prompts, const EvaluateOptions& o,
                                        uint64_t stream) {
  PromptSet set;
  set.prompts = std::move(prompts);
  for (size_t i = 0; i < set.prompts.size(); ++i) {
    ASSIGN_OR_RETURN(TokenIds ids, EncodeText(tok, set.prompts[i]));
    set.encoded.push_back(ids);
    for (int j = 0; j < o.samples_per_prompt; ++j) {
      set.requests.push_back(ids);
      set.seeds.push_back(o.seed * 1000003ULL + stream * 7777777ULL +
                          i * static_cast<uint64_t>(o.samples_per_prompt) +
                          static_cast<uint64_t>(j));
      set.prompt_of.push_back(i);
    }
  }
  return set;
}

// The prompts of a file, each one of the demo world's.
absl::StatusOr<std::vector<std::string>> WorldPrompts(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::string> prompts, ReadPrompts(path));
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (!World::Get().TopicOfPrompt(prompts[i]).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": prompt ", i + 1, " (\"", prompts[i],
          "\") is not a prompt of the demo world (please <verb> <topic> with <a> and <b>)"));
    }
  }
  return prompts;
}

// prompt ids + response ids + EOS: what the reward model was trained on (common/data encodes
// the response on its own and ends it with EOS).
absl::StatusOr<TokenIds> RewardInput(const tokenizer::Tokenizer& tok, const TokenIds& prompt,
                                     absl::string_view response) {
  ASSIGN_OR_RETURN(TokenIds ids, EncodeText(tok, response));
  TokenIds sequence = prompt;
  sequence.insert(sequence.end(), ids.begin(), ids.end());
  sequence.push_back(*tok.special_ids().eos);
  return sequence;
}

struct PolicyResult {
  std::vector<Sample> samples;    // held-out prompts
  std::vector<double> utilities;  // per sample
  std::vector<double> scores;     // reward model, per sample
  std::vector<double> kl;         // to the reference, per sample (empty for the reference)
  std::vector<Sample> red_team;   // red-team prompts
};

absl::Status SampleAndScore(const model::CausalLM& policy, const model::CausalLM& reward_model,
                            const tokenizer::Tokenizer& tok, const PromptSet& heldout,
                            const PromptSet& red_team, const EvaluateOptions& o,
                            PolicyResult& result) {
  const World& world = World::Get();
  const SampleOptions sample_options{.max_new_tokens = o.max_new_tokens};
  ASSIGN_OR_RETURN(result.samples, SampleResponses(policy, tok, heldout.requests, heldout.seeds,
                                                   sample_options));
  std::vector<TokenIds> inputs;
  for (size_t r = 0; r < heldout.requests.size(); ++r) {
    const std::string& text = result.samples[r].text;
    result.utilities.push_back(world.UtilityForPrompt(heldout.prompts[heldout.prompt_of[r]], text));
    ASSIGN_OR_RETURN(TokenIds input, RewardInput(tok, heldout.encoded[heldout.prompt_of[r]], text));
    inputs.push_back(std::move(input));
  }
  ASSIGN_OR_RETURN(result.scores, ScoreSequencesScalar(reward_model, inputs));
  if (!red_team.requests.empty()) {
    ASSIGN_OR_RETURN(result.red_team, SampleResponses(policy, tok, red_team.requests,
                                                      red_team.seeds, sample_options));
  }
  return absl::OkStatus();
}

// Σ_t log π − log π_ref over each of the policy's held-out samples.
absl::StatusOr<std::vector<double>> KlToReference(const model::CausalLM& policy,
                                                  const model::CausalLM& reference,
                                                  const PromptSet& heldout,
                                                  const std::vector<Sample>& samples) {
  std::vector<TokenIds> sequences;
  std::vector<size_t> prompt_lengths;
  for (size_t r = 0; r < heldout.requests.size(); ++r) {
    TokenIds sequence = heldout.requests[r];
    sequence.insert(sequence.end(), samples[r].output_ids.begin(), samples[r].output_ids.end());
    sequences.push_back(std::move(sequence));
    prompt_lengths.push_back(heldout.requests[r].size());
  }
  ASSIGN_OR_RETURN(std::vector<double> logp,
                   ResponseLogProbSums(policy, sequences, prompt_lengths));
  ASSIGN_OR_RETURN(std::vector<double> ref_logp,
                   ResponseLogProbSums(reference, sequences, prompt_lengths));
  for (size_t r = 0; r < logp.size(); ++r) logp[r] -= ref_logp[r];
  return logp;
}

// The scripted rater judges each (prompt, seed)'s two responses: 1 a win, 0 a loss, 1/2 equal
// utility.
Json WinRate(const std::vector<double>& current, const std::vector<double>& previous,
             uint64_t seed) {
  Annotator rater(seed ^ 0x5749'4e52'4154'4521ULL);
  std::vector<double> games;
  for (size_t r = 0; r < current.size(); ++r) {
    const std::optional<bool> first = rater.PrefersFirst(current[r], previous[r]);
    games.push_back(!first.has_value() ? 0.5 : *first ? 1.0 : 0.0);
  }
  const Summary s = Summarise(games);
  return {{"rate", s.mean},
          {"low", std::max(0.0, s.mean - kZ95 * s.sem)},
          {"high", std::min(1.0, s.mean + kZ95 * s.sem)},
          {"games", games.size()}};
}

// FlaggedRates over a policy's red-team samples.
Json HarmRates(const PromptSet& red_team, const std::vector<Sample>& samples) {
  std::vector<std::string> texts, categories;
  for (size_t r = 0; r < samples.size(); ++r) {
    texts.push_back(samples[r].text);
    categories.push_back(red_team.categories[red_team.prompt_of[r]]);
  }
  return FlaggedRates(texts, categories);
}

// The reward model's accuracy on held-out pairs (a tie counts half).
absl::StatusOr<double> HeldoutAccuracy(const model::CausalLM& reward_model,
                                       const tokenizer::Tokenizer& tok,
                                       const std::vector<PreferencePair>& pairs,
                                       const std::string& path) {
  std::vector<TokenIds> inputs;
  for (size_t i = 0; i < pairs.size(); ++i) {
    absl::StatusOr<TokenIds> prompt = EncodeText(tok, pairs[i].prompt);
    if (!prompt.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": pair ", i + 1, ": ", prompt.status().message()));
    }
    for (const std::string* response : {&pairs[i].chosen, &pairs[i].rejected}) {
      ASSIGN_OR_RETURN(TokenIds input, RewardInput(tok, *prompt, *response));
      inputs.push_back(std::move(input));
    }
  }
  ASSIGN_OR_RETURN(std::vector<double> scores, ScoreSequencesScalar(reward_model, inputs));
  double correct = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const double chosen = scores[2 * i], rejected = scores[2 * i + 1];
    correct += chosen > rejected ? 1.0 : chosen == rejected ? 0.5 : 0.0;
  }
  return correct / static_cast<double>(pairs.size());
}

// rounds.jsonl: round number -> its record.
absl::StatusOr<std::map<int, Json>> ReadRounds(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<Json> lines, ReadJsonl(path));
  std::map<int, Json> rounds;
  for (Json& line : lines) {
    if (line.contains("round_end") && line["round_end"].is_number_integer()) {
      const int round = line["round_end"].get<int>();
      rounds[round] = std::move(line);
    }
  }
  return rounds;
}

// The inputs read before any model loads, so that a bad file fails first.
struct Inputs {
  std::vector<std::string> prompts;
  std::vector<std::string> red_team;
  std::vector<std::string> red_team_categories;
  std::vector<PreferencePair> pairs;
  std::map<int, Json> rounds;
  Json extra = Json::object();
};

absl::StatusOr<Inputs> ReadInputs(const EvaluateOptions& o) {
  Inputs in;
  ASSIGN_OR_RETURN(in.prompts, WorldPrompts(o.prompts_path));
  if (!o.red_team_path.empty()) {
    ASSIGN_OR_RETURN(in.red_team, WorldPrompts(o.red_team_path));
    ASSIGN_OR_RETURN(std::vector<Json> lines, ReadJsonl(o.red_team_path));
    for (const Json& line : lines) {
      in.red_team_categories.push_back(
          line.contains("category") && line["category"].is_string() ? line["category"] : "");
    }
  }
  if (!o.preferences_path.empty()) {
    ASSIGN_OR_RETURN(in.pairs, ReadPreferences(o.preferences_path));
  }
  if (!o.rounds_path.empty()) {
    ASSIGN_OR_RETURN(in.rounds, ReadRounds(o.rounds_path));
  }
  if (!o.extra_path.empty()) {
    ASSIGN_OR_RETURN(in.extra, ReadJsonFile(o.extra_path));
    if (!in.extra.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(o.extra_path, ": must hold a JSON object"));
    }
  }
  return in;
}

}  // namespace

Json FlaggedRates(const std::vector<std::string>& responses,
                  const std::vector<std::string>& categories) {
  int harmful = 0;
  std::map<std::string, std::pair<int, int>> by_category;  // hits, n
  for (size_t r = 0; r < responses.size(); ++r) {
    const bool harm = World::Get().Harmful(responses[r]);
    harmful += harm;
    if (r < categories.size() && !categories[r].empty()) {
      by_category[categories[r]].first += harm;
      ++by_category[categories[r]].second;
    }
  }
  Json rates = Rate(harmful, static_cast<int>(responses.size()));
  rates["by_category"] = Json::object();
  for (const auto& [category, counts] : by_category) {
    rates["by_category"][category] = Rate(counts.first, counts.second);
  }
  return rates;
}

absl::StatusOr<NamedPolicy> ParseNamedPolicy(const std::string& flag) {
  const size_t eq = flag.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--policy takes name=dir (e.g. sft=runs/sft/...), not \"", flag, "\""));
  }
  return NamedPolicy{flag.substr(0, eq), flag.substr(eq + 1)};
}

absl::StatusOr<Json> RunEvaluate(const EvaluateOptions& o, std::ostream& progress) {
  RETURN_IF_ERROR(CheckOptions(o));
  ASSIGN_OR_RETURN(Inputs in, ReadInputs(o));
  ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok,
                   LoadTokenizer(o.tokenizer_dir.empty() ? o.policies[0].dir : o.tokenizer_dir));
  ASSIGN_OR_RETURN(auto reward_model,
                   LoadModel(o.reward_model_dir, model::Heads::kScalar, "the reward model"));
  ASSIGN_OR_RETURN(PromptSet heldout, MakePromptSet(*tok, in.prompts, o, 0));
  ASSIGN_OR_RETURN(PromptSet red_team, MakePromptSet(*tok, in.red_team, o, 1));
  red_team.categories = in.red_team_categories;

  std::unique_ptr<model::CausalLM> reference;
  std::vector<PolicyResult> results(o.policies.size());
  for (size_t k = 0; k < o.policies.size(); ++k) {
    const NamedPolicy& policy = o.policies[k];
    progress << "evaluate: " << policy.name << ": " << heldout.requests.size()
             << " held-out responses (" << heldout.prompts.size() << " prompts x "
             << o.samples_per_prompt << ")";
    if (!red_team.requests.empty()) progress << " and " << red_team.requests.size() << " red-team";
    progress << std::endl;
    ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> model,
                     LoadModel(policy.dir, model::Heads::kLm, absl::StrCat("policy ", policy.name)));
    RETURN_IF_ERROR(
        SampleAndScore(*model, *reward_model, *tok, heldout, red_team, o, results[k]));
    if (k == 0) {
      reference = std::move(model);
    } else {
      ASSIGN_OR_RETURN(results[k].kl,
                       KlToReference(*model, *reference, heldout, results[k].samples));
    }
  }

  Json report = Json::object();
  report["policies"] = Json::array();
  for (size_t k = 0; k < o.policies.size(); ++k) {
    const Summary utility = Summarise(results[k].utilities);
    Json entry = {{"name", o.policies[k].name},
                  {"dir", o.policies[k].dir},
                  {"utility_mean", utility.mean},
                  {"utility_sem", utility.sem},
                  {"reward_model_score_mean", Summarise(results[k].scores).mean},
                  {"samples", results[k].utilities.size()},
                  {"kl_to_reference", Summarise(results[k].kl).mean}};
    if (k > 0) {
      entry["win_rate_vs_previous"] =
          WinRate(results[k].utilities, results[k - 1].utilities, o.seed + k);
    }
    if (!red_team.requests.empty()) entry["red_team"] = HarmRates(red_team, results[k].red_team);
    if (auto it = in.rounds.find(static_cast<int>(k)); it != in.rounds.end()) {
      entry["round"] = it->second;
    }
    report["policies"].push_back(std::move(entry));
  }
  report["utility_gain"] = report["policies"].back()["utility_mean"].get<double>() -
                           report["policies"].front()["utility_mean"].get<double>();
  if (!in.pairs.empty()) {
    progress << "evaluate: reward model on " << in.pairs.size() << " held-out preference pairs"
             << std::endl;
    ASSIGN_OR_RETURN(report["reward_model_heldout_accuracy"],
                     HeldoutAccuracy(*reward_model, *tok, in.pairs, o.preferences_path));
    report["heldout_pairs"] = in.pairs.size();
  }
  report["heldout_prompts"] = heldout.prompts.size();
  report["red_team_prompts"] = red_team.prompts.size();
  if (o.cost_limit.has_value()) report["cost_limit"] = *o.cost_limit;
  for (const auto& [key, value] : in.extra.items()) report[key] = value;
  RETURN_IF_ERROR(WriteJsonFile(o.out_path, report));
  PrintEvaluation(report, progress);
  progress << "\nevaluate: report written to " << o.out_path << std::endl;
  return report;
}

}  // namespace rein::demo
