// rein-demo: the synthetic world behind the quickstart's RLHF story (see world.h).
//
//   rein-demo corpus   --out DIR                  world, tokenizer, SFT data, prompts, policy-init
//   rein-demo annotate --policy DIR --prompts F   scripted preference labels from policy samples
//   rein-demo evaluate --sft DIR --ppo DIR ...    SFT vs PPO on the hidden utility -> report.json
//
// Progress goes to stdout; an error goes to stderr as one line and the exit status is 1.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "common/process/process_setup.h"
#include "tools/demo/annotate.h"
#include "tools/demo/corpus.h"
#include "tools/demo/evaluate.h"

namespace {

int Finish(const char* command, const absl::Status& status) {
  std::cout.flush();
  if (status.ok()) return 0;
  std::cerr << "rein-demo " << command << ": " << status.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  rein::InitProcess("rein-demo");
  CLI::App app{"rein-demo: the synthetic world of Rein's quickstart (corpus, annotate, evaluate)"};
  app.require_subcommand(1);

  rein::demo::CorpusOptions corpus;
  CLI::App* corpus_cmd = app.add_subcommand(
      "corpus", "Write the world: tokenizer, SFT data, PPO and held-out prompts, policy-init");
  corpus_cmd->add_option("--out", corpus.out_dir, "Output directory (absent or empty)")
      ->required();
  corpus_cmd->add_option("--seed", corpus.seed, "Random seed")->capture_default_str();
  corpus_cmd->add_option("--sft_examples", corpus.sft_examples, "SFT examples")
      ->capture_default_str();
  corpus_cmd->add_option("--prompts", corpus.prompts, "PPO training prompts")
      ->capture_default_str();
  corpus_cmd->add_option("--heldout_prompts", corpus.heldout_prompts, "Held-out prompts")
      ->capture_default_str();
  corpus_cmd->add_option("--hidden_size", corpus.hidden_size, "policy-init hidden size")
      ->capture_default_str();
  corpus_cmd->add_option("--num_layers", corpus.num_layers, "policy-init layers")
      ->capture_default_str();
  corpus_cmd->add_option("--num_heads", corpus.num_heads, "policy-init attention heads")
      ->capture_default_str();
  corpus_cmd->add_option("--intermediate_size", corpus.intermediate_size,
                         "policy-init MLP width")
      ->capture_default_str();

  rein::demo::AnnotateOptions annotate;
  CLI::App* annotate_cmd = app.add_subcommand(
      "annotate", "Sample response pairs from a policy and label them with the scripted rater");
  annotate_cmd->add_option("--policy", annotate.policy_dir, "Policy model directory")
      ->required();
  annotate_cmd->add_option("--tokenizer", annotate.tokenizer_dir,
                           "Tokenizer directory (default: --policy)");
  annotate_cmd->add_option("--prompts", annotate.prompts_path, "Prompts JSONL")->required();
  annotate_cmd->add_option("--pairs", annotate.pairs, "Labelled pairs to write in all")
      ->capture_default_str();
  annotate_cmd->add_option("--heldout_fraction", annotate.heldout_fraction,
                           "Fraction of pairs written to --out_heldout")
      ->capture_default_str();
  annotate_cmd->add_option("--seed", annotate.seed, "Sampling and rater seed")
      ->capture_default_str();
  annotate_cmd->add_option("--out_train", annotate.out_train, "Training pairs JSONL")
      ->required();
  annotate_cmd->add_option("--out_heldout", annotate.out_heldout, "Held-out pairs JSONL")
      ->required();
  annotate_cmd->add_option("--max_new_tokens", annotate.max_new_tokens,
                           "Longest response in tokens")
      ->capture_default_str();

  rein::demo::EvaluateOptions evaluate;
  CLI::App* evaluate_cmd = app.add_subcommand(
      "evaluate", "Compare the SFT and PPO policies on held-out prompts; write report.json");
  evaluate_cmd->add_option("--sft", evaluate.sft_dir, "SFT policy (the KL reference)")
      ->required();
  evaluate_cmd->add_option("--ppo", evaluate.ppo_dir, "PPO policy")->required();
  evaluate_cmd->add_option("--reward_model", evaluate.reward_model_dir,
                           "Reward model (scalar head)")
      ->required();
  evaluate_cmd->add_option("--tokenizer", evaluate.tokenizer_dir,
                           "Tokenizer directory (default: --sft)");
  evaluate_cmd->add_option("--prompts", evaluate.prompts_path, "Held-out prompts JSONL")
      ->required();
  evaluate_cmd->add_option("--preferences", evaluate.preferences_path,
                           "Held-out preference pairs JSONL")
      ->required();
  evaluate_cmd->add_option("--out", evaluate.out_path, "report.json to write")->required();
  evaluate_cmd->add_option("--samples_per_prompt", evaluate.samples_per_prompt,
                           "Responses per prompt and policy")
      ->capture_default_str();
  evaluate_cmd->add_option("--seed", evaluate.seed, "Sampling seed")->capture_default_str();
  evaluate_cmd->add_option("--max_new_tokens", evaluate.max_new_tokens,
                           "Longest response in tokens")
      ->capture_default_str();
  evaluate_cmd->add_option("--extra", evaluate.extra_path,
                           "JSON object whose keys are merged into the report");

  CLI11_PARSE(app, argc, argv);
  if (*corpus_cmd) return Finish("corpus", rein::demo::WriteCorpus(corpus, std::cout));
  if (*annotate_cmd) {
    return Finish("annotate", rein::demo::RunAnnotate(annotate, std::cout).status());
  }
  return Finish("evaluate", rein::demo::RunEvaluate(evaluate, std::cout).status());
}
