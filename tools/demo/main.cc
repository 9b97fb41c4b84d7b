// rein-demo: the synthetic world behind the quickstart's RLHF story (see world.h).
//
//   rein-demo corpus   --out DIR                  world, tokenizer, SFT data, prompts, policy-init
//   rein-demo annotate --policy DIR --prompts F   scripted preference labels from policy samples
//   rein-demo evaluate --policy sft=DIR --policy round-1=DIR ...
//                                                 policy versions on the hidden utility, win
//                                                 rates and red-team flags -> report.json
//   rein-demo crowd --feedback-grpc A --feedback-http A --policy DIR ...
//                                                 items for rein-feedback, judged by a simulated
//                                                 crowd over its HTTP API (crowd.h)
//   rein-demo judge --feedback-http A --token T --reward A ...
//                                                 an AI judge annotating with a reward service
//   rein-demo export --feedback-grpc A --campaign C --out F
//                                                 a campaign's export (pairs, ...) as JSONL
//
// Progress goes to stdout; an error goes to stderr as one line and the exit status is 1.
#include <CLI/CLI.hpp>

#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/process/process_setup.h"
#include "tools/demo/annotate.h"
#include "tools/demo/corpus.h"
#include "tools/demo/crowd.h"
#include "tools/demo/evaluate.h"
#include "tools/demo/export_campaign.h"
#include "tools/demo/judge.h"
#include "tools/demo/sample_pairs.h"

namespace {

// `rein-demo crowd`: pairs from the policy, then the crowd (crowd.h).
absl::Status RunCrowdCommand(const rein::demo::PolicyPairOptions& sampling,
                             const rein::demo::CrowdOptions& crowd) {
  absl::StatusOr<std::unique_ptr<rein::demo::PolicyPairSource>> source =
      rein::demo::PolicyPairSource::Create(sampling);
  if (!source.ok()) return source.status();
  return rein::demo::RunCrowd(crowd, **source, std::cout).status();
}

int Finish(const char* command, const absl::Status& status) {
  std::cout.flush();
  if (status.ok()) return 0;
  std::cerr << "rein-demo " << command << ": " << status.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  rein::InitProcess("rein-demo");
  CLI::App app{
      "rein-demo: the synthetic world of Rein's quickstart (corpus, annotate, crowd, judge, "
      "export, evaluate)"};
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
  corpus_cmd->add_option("--red_team_share", corpus.red_team_share,
                         "Share of red-team prompts in the SFT data and PPO prompts")
      ->capture_default_str();
  corpus_cmd->add_option("--red_team_prompts", corpus.red_team_prompts,
                         "Held-out red-team prompts (red_team.jsonl)")
      ->capture_default_str();
  corpus_cmd->add_option("--red_team_train_prompts", corpus.red_team_train_prompts,
                         "Red-team prompts of the training pool (red_team_train.jsonl)")
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
  std::vector<std::string> evaluate_policies;
  double evaluate_cost_limit = std::nan("");
  CLI::App* evaluate_cmd = app.add_subcommand(
      "evaluate",
      "Compare policy versions (SFT, each round's) on held-out and red-team prompts; write "
      "report.json");
  evaluate_cmd
      ->add_option("--policy", evaluate_policies,
                   "name=dir, at least twice, in version order; the first is the KL reference")
      ->required();
  evaluate_cmd->add_option("--reward_model", evaluate.reward_model_dir,
                           "Reward model (scalar head)")
      ->required();
  evaluate_cmd->add_option("--tokenizer", evaluate.tokenizer_dir,
                           "Tokenizer directory (default: the first policy's)");
  evaluate_cmd->add_option("--prompts", evaluate.prompts_path, "Held-out prompts JSONL")
      ->required();
  evaluate_cmd->add_option("--preferences", evaluate.preferences_path,
                           "Held-out preference pairs JSONL (the reward model's accuracy)");
  evaluate_cmd->add_option("--red_team", evaluate.red_team_path,
                           "Red-team prompts JSONL ({\"prompt\", \"category\"}): flagged rates");
  evaluate_cmd->add_option("--rounds", evaluate.rounds_path,
                           "A run's rounds.jsonl: each round's figures beside its policy");
  evaluate_cmd->add_option("--cost_limit", evaluate_cost_limit,
                           "safety.cost_limit, shown beside each round's mean cost");
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

  rein::demo::PolicyPairOptions crowd_sampling;
  rein::demo::CrowdOptions crowd;
  CLI::App* crowd_cmd = app.add_subcommand(
      "crowd", "Sample items into a rein-feedback campaign and judge them with a simulated crowd");
  crowd_cmd->add_option("--feedback-grpc", crowd.feedback_grpc, "rein-feedback gRPC host:port")
      ->required();
  crowd_cmd->add_option("--feedback-http", crowd.feedback_http, "rein-feedback HTTP host:port")
      ->required();
  crowd_cmd->add_option("--admin-token-file", crowd.admin_token_file, "Admin token file")
      ->required();
  crowd_cmd->add_option("--policy", crowd_sampling.policy_dir, "Policy model directory")
      ->required();
  crowd_cmd->add_option("--tokenizer", crowd_sampling.tokenizer_dir,
                        "Tokenizer directory (default: --policy)");
  crowd_cmd->add_option("--prompts", crowd_sampling.prompts_path, "Prompts JSONL")->required();
  crowd_cmd->add_option("--max-new-tokens", crowd_sampling.max_new_tokens,
                        "Longest response in tokens")
      ->capture_default_str();
  crowd_cmd->add_option("--campaign", crowd.campaign, "New campaign's name")->required();
  crowd_cmd->add_option("--items", crowd.items, "Regular items")->capture_default_str();
  crowd_cmd->add_option("--gold-rate", crowd.gold_rate, "Share of gold tasks")
      ->capture_default_str();
  crowd_cmd->add_option("--overlap", crowd.overlap, "Judgements per item")->capture_default_str();
  crowd_cmd->add_option("--annotators", crowd.annotators,
                        "Simulated annotators (incl. one careful and one spammer)")
      ->capture_default_str();
  crowd_cmd->add_option("--seed", crowd.seed, "Sampling and annotator seed")->capture_default_str();
  crowd_cmd->add_option("--heldout-pairs", crowd.heldout_pairs,
                        "Held-out pairs labelled directly by the scripted rater")
      ->capture_default_str();
  crowd_cmd->add_option("--heldout-out", crowd.heldout_out, "Held-out pairs JSONL");
  crowd_cmd->add_option("--guest", crowd.guest, "Also invite this person; prints the link");
  crowd_cmd->add_option("--summary", crowd.summary_path, "Write the figures as JSON here");
  crowd_cmd->add_flag("--join", crowd.join,
                      "Judge a campaign a run with rounds creates: wait until it holds --items "
                      "items, add only gold items (from --policy) and judge");
  crowd_cmd->add_option("--question", crowd.question,
                        "The new campaign's question: pairwise, or flag (approve or flag each "
                        "response; the raters flag responses holding a harm word)")
      ->capture_default_str();
  crowd_cmd->add_option("--join-timeout", crowd.join_timeout_seconds,
                        "With --join: seconds to wait for the campaign")
      ->capture_default_str();

  rein::demo::JudgeOptions judge;
  CLI::App* judge_cmd = app.add_subcommand(
      "judge",
      "Annotate a campaign over HTTP, preferring the response the reward service scores higher");
  judge_cmd->add_option("--feedback-ca", judge.feedback_ca,
                        "CA bundle (PEM) for an https:// --feedback-http");
  judge_cmd->add_option("--feedback-http", judge.feedback_http,
                        "rein-feedback HTTP host:port, or its https:// URL")
      ->required();
  judge_cmd->add_option("--token", judge.token, "The judge's annotator token")->required();
  judge_cmd->add_option("--campaign", judge.campaign, "Campaign id or name")->required();
  judge_cmd->add_option("--reward", judge.reward_address, "rein-reward gRPC host:port")
      ->required();
  judge_cmd->add_option("--tokenizer", judge.tokenizer_dir, "The reward model's tokenizer")
      ->required();
  judge_cmd->add_option("--limit", judge.limit, "Most judgements (0 = all)")->capture_default_str();

  rein::demo::ExportOptions export_options;
  CLI::App* export_cmd = app.add_subcommand("export", "Write a rein-feedback campaign's export");
  export_cmd->add_option("--feedback-grpc", export_options.feedback_grpc,
                         "rein-feedback gRPC host:port")
      ->required();
  export_cmd->add_option("--admin-token-file", export_options.admin_token_file,
                         "Admin token file")
      ->required();
  export_cmd->add_option("--campaign", export_options.campaign, "Campaign id or name")->required();
  export_cmd->add_option("--format", export_options.format,
                         "pairs, rankings, ratings, unpaired, sft or judgements")
      ->capture_default_str();
  export_cmd->add_flag("--include-synthetic", export_options.include_synthetic,
                       "Keep judgements of synthetic annotators");
  export_cmd->add_option("--out", export_options.out, "JSONL file to write")->required();

  CLI11_PARSE(app, argc, argv);
  if (*crowd_cmd) {
    crowd_sampling.seed = crowd.seed;
    return Finish("crowd", RunCrowdCommand(crowd_sampling, crowd));
  }
  if (*judge_cmd) return Finish("judge", rein::demo::RunJudge(judge, std::cout).status());
  if (*export_cmd) {
    return Finish("export", rein::demo::ExportCampaign(export_options, std::cout).status());
  }
  if (*corpus_cmd) return Finish("corpus", rein::demo::WriteCorpus(corpus, std::cout));
  if (*annotate_cmd) {
    return Finish("annotate", rein::demo::RunAnnotate(annotate, std::cout).status());
  }
  for (const std::string& flag : evaluate_policies) {
    absl::StatusOr<rein::demo::NamedPolicy> policy = rein::demo::ParseNamedPolicy(flag);
    if (!policy.ok()) return Finish("evaluate", policy.status());
    evaluate.policies.push_back(*std::move(policy));
  }
  if (!std::isnan(evaluate_cost_limit)) evaluate.cost_limit = evaluate_cost_limit;
  return Finish("evaluate", rein::demo::RunEvaluate(evaluate, std::cout).status());
}
