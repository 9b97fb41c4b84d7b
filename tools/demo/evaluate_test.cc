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

TEST_CASE("evaluate writes a report with every key and the extra ones") {
  const Fixture& f = Fixture::Get();
  std::ostringstream progress;
  REQUIRE(RunAnnotate(SmallAnnotate(f), progress).ok());
  std::ofstream(f.dir + "/extra.json") << R"({"iterations": 7, "wall_seconds": 1.5})";
  EvaluateOptions options;
  options.sft_dir = f.dir + "/corpus/policy-init";
  options.ppo_dir = options.sft_dir;  // the same model: no gain, no KL
  options.reward_model_dir = f.reward_model;
  options.prompts_path = f.dir + "/corpus/heldout_prompts.jsonl";
  options.preferences_path = f.dir + "/heldout_prefs.jsonl";
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
  for (const char* side : {"sft", "ppo"}) {
    for (const char* key : {"utility_mean", "utility_sem", "reward_model_score_mean"}) {
      INFO(side << "." << key);
      CHECK((*report)[side][key].is_number());
    }
    CHECK((*report)[side]["samples"] == 12);
  }
  CHECK((*report)["utility_gain"] == 0.0);
  CHECK_THAT((*report)["kl_to_reference"].get<double>(), Catch::Matchers::WithinAbs(0, 1e-4));
  const double accuracy = (*report)["reward_model_heldout_accuracy"].get<double>();
  CHECK(accuracy >= 0);
  CHECK(accuracy <= 1);
  CHECK((*report)["iterations"] == 7);
  CHECK((*report)["wall_seconds"] == 1.5);
  CHECK(progress.str().find("reward model held-out accuracy") != std::string::npos);
}

TEST_CASE("evaluate names the bad line of an input file") {
  const Fixture& f = Fixture::Get();
  const std::string bad = f.dir + "/bad_prompts.jsonl";
  std::ofstream(bad) << "{\"prompt\": \"please describe ocean with fish and reef\"}\n{oops\n";
  EvaluateOptions options;
  options.sft_dir = f.dir + "/corpus/policy-init";
  options.ppo_dir = options.sft_dir;
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
