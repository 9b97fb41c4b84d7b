#include "tools/demo/evaluate.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "common/model/causal_lm.h"
#include "tools/demo/annotate.h"
#include "tools/demo/corpus.h"
#include "tools/demo/jsonl.h"
#include "tools/demo/test_util.h"
#include "tools/demo/tokenizer_writer.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

// A small corpus, annotations from the random policy-init and a random reward model, shared by
// the cases below (built once).
struct Fixture {
  std::string dir;
  std::string reward_model;

  static const Fixture& Get() {
    static const Fixture* fixture = [] {
      auto* f = new Fixture();
      f->dir = testing::MakeTempDir("demo_eval_");
      CorpusOptions corpus;
      corpus.out_dir = f->dir + "/corpus";
      corpus.sft_examples = 20;
      corpus.prompts = 30;
      corpus.heldout_prompts = 6;
      corpus.red_team_prompts = 10;
      corpus.red_team_train_prompts = 10;
      std::ostringstream progress;
      REQUIRE(WriteCorpus(corpus, progress).ok());
      const TokenizerFiles tok = BuildTokenizer(World::Get());
      auto rm = model::CausalLM::CreateRandom(PolicyConfig(corpus, tok.vocab_size, tok.eos_id),
                                              /*seed=*/3, {.heads = model::Heads::kScalar});
      REQUIRE(rm.ok());
      f->reward_model = f->dir + "/rm";
      REQUIRE((*rm)->Save(f->reward_model).ok());
      return f;
    }();
    return *fixture;
  }
};

AnnotateOptions SmallAnnotate(const Fixture& f) {
  AnnotateOptions options;
  options.policy_dir = f.dir + "/corpus/policy-init";
  options.prompts_path = f.dir + "/corpus/prompts.jsonl";
  options.pairs = 10;
  options.heldout_fraction = 0.3;
  options.seed = 2;
  options.out_train = f.dir + "/train_prefs.jsonl";
  options.out_heldout = f.dir + "/heldout_prefs.jsonl";
  options.max_new_tokens = 8;
  return options;
}

TEST_CASE("annotate writes labelled pairs from a policy") {
  const Fixture& f = Fixture::Get();
  std::ostringstream progress;
  auto stats = RunAnnotate(SmallAnnotate(f), progress);
  INFO(stats.status().ToString() << "\n" << progress.str());
  REQUIRE(stats.ok());
  CHECK(stats->pairs == 10);
  CHECK(stats->train_pairs == 7);
  CHECK(stats->heldout_pairs == 3);
  CHECK(stats->agreement >= 0);
  CHECK(stats->agreement <= 1);
  CHECK(progress.str().find("100%") != std::string::npos);
  auto train = ReadPreferences(f.dir + "/train_prefs.jsonl");
  auto heldout = ReadPreferences(f.dir + "/heldout_prefs.jsonl");
  REQUIRE((train.ok() && heldout.ok()));
  CHECK(train->size() == 7);
  CHECK(heldout->size() == 3);
  for (const PreferencePair& pair : *train) {
    CHECK_FALSE(pair.chosen.empty());
    CHECK(World::Get().UtilityForPrompt(pair.prompt, pair.chosen) !=
          World::Get().UtilityForPrompt(pair.prompt, pair.rejected));
  }
}

TEST_CASE("evaluate writes a report with every key, the rounds' figures and the extra ones") {
  const Fixture& f = Fixture::Get();
  std::ostringstream progress;
  REQUIRE(RunAnnotate(SmallAnnotate(f), progress).ok());
  std::ofstream(f.dir + "/extra.json") << R"({"iterations": 7, "wall_seconds": 1.5})";
  std::ofstream(f.dir + "/rounds.jsonl")
      << R"({"round_end": 1, "judgements": 12, "reward_model_accuracy": 0.75, "cost/mean": -1.5})"
      << "\n"
      << R"({"round_end": 2, "judgements": 14, "reward_model_accuracy": 0.5, "kl/mean": 0.25})"
      << "\n";
  EvaluateOptions options;
  const std::string policy = f.dir + "/corpus/policy-init";
  // The same model three times: no gain, no KL, every game a tie (win rate exactly 1/2).
  options.policies = {{"sft", policy}, {"round-1", policy}, {"round-2", policy}};
  options.reward_model_dir = f.reward_model;
  options.prompts_path = f.dir + "/corpus/heldout_prompts.jsonl";
  options.preferences_path = f.dir + "/heldout_prefs.jsonl";
  options.red_team_path = f.dir + "/corpus/red_team.jsonl";
  options.rounds_path = f.dir + "/rounds.jsonl";
  options.cost_limit = -2;
  options.out_path = f.dir + "/report.json";
  options.extra_path = f.dir + "/extra.json";
  options.samples_per_prompt = 2;
  options.max_new_tokens = 8;
  auto report = RunEvaluate(options, progress);
  INFO(report.status().ToString() << "\n" << progress.str());
  REQUIRE(report.ok());
  auto written = ReadJsonFile(options.out_path);
  REQUIRE(written.ok());
  CHECK(*written == *report);
  const nlohmann::json& policies = (*report)["policies"];
  REQUIRE(policies.size() == 3);
  for (const nlohmann::json& p : policies) {
    for (const char* key : {"utility_mean", "utility_sem", "reward_model_score_mean"}) {
      INFO(p["name"] << "." << key);
      CHECK(p[key].is_number());
    }
    CHECK(p["samples"] == 12);
    CHECK(p["utility_mean"] == policies[0]["utility_mean"]);
    CHECK_THAT(p["kl_to_reference"].get<double>(), Catch::Matchers::WithinAbs(0, 1e-4));
    // The red team: 10 prompts (the corpus default is 64; this one is small) x 2 samples, the
    // same responses for every policy, so the same flagged rate; both categories present.
    const nlohmann::json& red_team = p["red_team"];
    CHECK(red_team["samples"] == 2 * (*report)["red_team_prompts"].get<int>());
    CHECK(red_team["harm_rate"] == policies[0]["red_team"]["harm_rate"]);
    CHECK(red_team["low"].get<double>() <= red_team["harm_rate"].get<double>());
    CHECK(red_team["high"].get<double>() >= red_team["harm_rate"].get<double>());
  }
  CHECK_FALSE(policies[0].contains("win_rate_vs_previous"));
  for (int k = 1; k < 3; ++k) {
    CHECK(policies[k]["win_rate_vs_previous"]["rate"] == 0.5);
    CHECK(policies[k]["win_rate_vs_previous"]["games"] == 12);
    CHECK(policies[k]["round"]["round_end"] == k);
  }
  CHECK_FALSE(policies[0].contains("round"));
  CHECK(policies[1]["round"]["cost/mean"] == -1.5);
  CHECK((*report)["utility_gain"] == 0.0);
  CHECK((*report)["cost_limit"] == -2.0);
  const double accuracy = (*report)["reward_model_heldout_accuracy"].get<double>();
  CHECK(accuracy >= 0);
  CHECK(accuracy <= 1);
  CHECK((*report)["iterations"] == 7);
  CHECK((*report)["wall_seconds"] == 1.5);
  const std::string table = progress.str();
  for (const char* row : {"win rate vs previous", "red team: flagged rate", "reward model held-out "
                          "accuracy", "cost, last iteration (limit -2.00)", "round-2"}) {
    INFO(row);
    CHECK(table.find(row) != std::string::npos);
  }
}

TEST_CASE("the flagged rate counts responses holding a harm word, per category") {
  const nlohmann::json rates = FlaggedRates(
      {" fish poison .", " fish reef .", " lazy .", " the tide .", " bomb ugly ."},
      {"harmful", "harmful", "biased", "biased", ""});
  CHECK(rates["harm_rate"] == 0.6);
  CHECK(rates["samples"] == 5);
  CHECK(rates["by_category"]["harmful"]["harm_rate"] == 0.5);
  CHECK(rates["by_category"]["biased"]["harm_rate"] == 0.5);
  CHECK(rates["by_category"].size() == 2);  // the uncategorised prompt counts only overall
  // Wilson 95% interval of 3/5: [0.231, 0.882].
  CHECK_THAT(rates["low"].get<double>(), Catch::Matchers::WithinAbs(0.2307, 1e-3));
  CHECK_THAT(rates["high"].get<double>(), Catch::Matchers::WithinAbs(0.8824, 1e-3));
}

TEST_CASE("the policy flag takes name=dir") {
  auto parsed = ParseNamedPolicy("round-1=/runs/x/policy");
  REQUIRE(parsed.ok());
  CHECK(parsed->name == "round-1");
  CHECK(parsed->dir == "/runs/x/policy");
  for (const char* bad : {"noequals", "=dir", "name="}) {
    INFO(bad);
    CHECK(ParseNamedPolicy(bad).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("evaluate names the bad line of an input file") {
  const Fixture& f = Fixture::Get();
  const std::string bad = f.dir + "/bad_prompts.jsonl";
  std::ofstream(bad) << "{\"prompt\": \"please describe ocean with fish and reef\"}\n{oops\n";
  EvaluateOptions options;
  options.policies = {{"sft", f.dir + "/corpus/policy-init"}, {"ppo", f.dir + "/corpus/policy-init"}};
  options.reward_model_dir = f.reward_model;
  options.prompts_path = bad;
  options.preferences_path = f.dir + "/heldout_prefs.jsonl";
  options.out_path = f.dir + "/unused.json";
  std::ostringstream progress;
  auto report = RunEvaluate(options, progress);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().message().find("bad_prompts.jsonl:2:") != absl::string_view::npos);

  options.prompts_path = f.dir + "/missing.jsonl";
  report = RunEvaluate(options, progress);
  CHECK(report.status().code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace rein::demo
