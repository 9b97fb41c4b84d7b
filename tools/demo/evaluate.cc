#include "tools/demo/evaluate.h"

#include <cmath>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "tools/demo/jsonl.h"
#include "tools/demo/policy.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

absl::Status CheckOptions(const EvaluateOptions& o) {
  for (const auto& [value, flag] :
       {std::pair(&o.sft_dir, "--sft"), std::pair(&o.ppo_dir, "--ppo"),
        std::pair(&o.reward_model_dir, "--reward_model"), std::pair(&o.prompts_path, "--prompts"),
        std::pair(&o.preferences_path, "--preferences"), std::pair(&o.out_path, "--out")}) {
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

double Mean(const std::vector<double>& values) { return Summarise(values).mean; }

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
  std::vector<Sample> samples;
  std::vector<double> utilities;
  std::vector<double> scores;
};

}  // namespace

absl::StatusOr<Json> RunEvaluate(const EvaluateOptions& o, std::ostream& progress) {
  RETURN_IF_ERROR(CheckOptions(o));
  const World& world = World::Get();
  // Inputs first, so that a bad file fails before any model loads.
  ASSIGN_OR_RETURN(std::vector<std::string> prompts, ReadPrompts(o.prompts_path));
  ASSIGN_OR_RETURN(std::vector<PreferencePair> pairs, ReadPreferences(o.preferences_path));
  Json extra = Json::object();
  if (!o.extra_path.empty()) {
    ASSIGN_OR_RETURN(extra, ReadJsonFile(o.extra_path));
    if (!extra.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(o.extra_path, ": must hold a JSON object"));
    }
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (!world.TopicOfPrompt(prompts[i]).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          o.prompts_path, ": prompt ", i + 1, " (\"", prompts[i],
          "\") is not a prompt of the demo world (please <verb> <topic> with <a> and <b>)"));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok,
                   LoadTokenizer(o.tokenizer_dir.empty() ? o.sft_dir : o.tokenizer_dir));
  ASSIGN_OR_RETURN(auto sft, LoadModel(o.sft_dir, model::Heads::kLm, "the SFT policy"));
  ASSIGN_OR_RETURN(auto ppo, LoadModel(o.ppo_dir, model::Heads::kLm, "the PPO policy"));
  ASSIGN_OR_RETURN(auto reward_model,
                   LoadModel(o.reward_model_dir, model::Heads::kScalar, "the reward model"));

  std::vector<TokenIds> encoded;
  std::vector<TokenIds> requests;
  std::vector<uint64_t> seeds;
  std::vector<size_t> prompt_of;
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSIGN_OR_RETURN(TokenIds ids, EncodeText(*tok, prompts[i]));
    encoded.push_back(ids);
    for (int j = 0; j < o.samples_per_prompt; ++j) {
      requests.push_back(ids);
      seeds.push_back(o.seed * 1000003ULL + i * static_cast<uint64_t>(o.samples_per_prompt) +
                      static_cast<uint64_t>(j));
      prompt_of.push_back(i);
    }
  }
  const SampleOptions sample_options{.max_new_tokens = o.max_new_tokens};
  PolicyResult results[2];
  const model::CausalLM* policies[2] = {sft.get(), ppo.get()};
  const char* names[2] = {"SFT", "PPO"};
  for (int k = 0; k < 2; ++k) {
    progress << "evaluate: sampling " << requests.size() << " responses ("
             << prompts.size() << " held-out prompts x " << o.samples_per_prompt << ") from the "
             << names[k] << " policy" << std::endl;
    ASSIGN_OR_RETURN(results[k].samples,
                     SampleResponses(*policies[k], *tok, requests, seeds, sample_options));
    std::vector<TokenIds> inputs;
    for (size_t r = 0; r < requests.size(); ++r) {
      const std::string& text = results[k].samples[r].text;
      results[k].utilities.push_back(world.UtilityForPrompt(prompts[prompt_of[r]], text));
      ASSIGN_OR_RETURN(TokenIds input, RewardInput(*tok, encoded[prompt_of[r]], text));
      inputs.push_back(std::move(input));
    }
    ASSIGN_OR_RETURN(results[k].scores, ScoreSequencesScalar(*reward_model, inputs));
  }

  progress << "evaluate: KL of the PPO samples to the SFT reference" << std::endl;
  std::vector<TokenIds> sequences;
  std::vector<size_t> prompt_lengths;
  for (size_t r = 0; r < requests.size(); ++r) {
    TokenIds sequence = requests[r];
    const TokenIds& out = results[1].samples[r].output_ids;
    sequence.insert(sequence.end(), out.begin(), out.end());
    sequences.push_back(std::move(sequence));
    prompt_lengths.push_back(requests[r].size());
  }
  ASSIGN_OR_RETURN(std::vector<double> ppo_logp, ResponseLogProbSums(*ppo, sequences, prompt_lengths));
  ASSIGN_OR_RETURN(std::vector<double> sft_logp, ResponseLogProbSums(*sft, sequences, prompt_lengths));
  std::vector<double> kl(sequences.size());
  for (size_t r = 0; r < kl.size(); ++r) kl[r] = ppo_logp[r] - sft_logp[r];

  progress << "evaluate: reward model on " << pairs.size() << " held-out preference pairs"
           << std::endl;
  std::vector<TokenIds> pair_inputs;
  for (size_t i = 0; i < pairs.size(); ++i) {
    absl::StatusOr<TokenIds> prompt = EncodeText(*tok, pairs[i].prompt);
    if (!prompt.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(o.preferences_path, ": pair ", i + 1, ": ",
                                                     prompt.status().message()));
    }
    for (const std::string* response : {&pairs[i].chosen, &pairs[i].rejected}) {
      ASSIGN_OR_RETURN(TokenIds input, RewardInput(*tok, *prompt, *response));
      pair_inputs.push_back(std::move(input));
    }
  }
  ASSIGN_OR_RETURN(std::vector<double> pair_scores,
                   ScoreSequencesScalar(*reward_model, pair_inputs));
  double correct = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const double chosen = pair_scores[2 * i], rejected = pair_scores[2 * i + 1];
    correct += chosen > rejected ? 1.0 : chosen == rejected ? 0.5 : 0.0;
  }
  const double accuracy = correct / static_cast<double>(pairs.size());

  Json report = Json::object();
  Summary summaries[2];
  for (int k = 0; k < 2; ++k) {
    summaries[k] = Summarise(results[k].utilities);
    report[k == 0 ? "sft" : "ppo"] = {
        {"utility_mean", summaries[k].mean},
        {"utility_sem", summaries[k].sem},
        {"reward_model_score_mean", Mean(results[k].scores)},
        {"samples", results[k].utilities.size()},
    };
  }
  const double gain = summaries[1].mean - summaries[0].mean;
  const double kl_mean = Mean(kl);
  report["utility_gain"] = gain;
  report["kl_to_reference"] = kl_mean;
  report["reward_model_heldout_accuracy"] = accuracy;
  report["heldout_pairs"] = pairs.size();
  report["heldout_prompts"] = prompts.size();
  for (const auto& [key, value] : extra.items()) report[key] = value;
  RETURN_IF_ERROR(WriteJsonFile(o.out_path, report));

  progress << "\n"
           << absl::StrFormat("  %-34s %19s %19s\n", "", "SFT", "PPO")
           << absl::StrFormat("  %-34s %11.3f ± %-5.3f  %11.3f ± %-5.3f\n",
                              "hidden utility (mean ± s.e.)", summaries[0].mean, summaries[0].sem,
                              summaries[1].mean, summaries[1].sem)
           << absl::StrFormat("  %-34s %19.3f %19.3f\n", "reward model score (mean)",
                              Mean(results[0].scores), Mean(results[1].scores))
           << absl::StrFormat("  %-34s %+19.3f\n", "utility gain (PPO - SFT)", gain)
           << absl::StrFormat("  %-34s %19.3f\n", "KL(PPO || SFT) per response, nats", kl_mean)
           << absl::StrFormat("  %-34s %19.3f  (%d pairs)\n", "reward model held-out accuracy",
                              accuracy, pairs.size())
           << "\nevaluate: report written to " << o.out_path << std::endl;
  return report;
}

}  // namespace rein::demo
