// rein-coordinator: serves the run's control plane and schedules its iterations.
//
//   rein-coordinator --config run.yaml [--port 0] [--start] [--exit_when_done]
//                    [--run_dir DIR] [--resume CHECKPOINT_DIR | RUN_DIR]
//                    [--checkpoint_root DIR[,DIR...]]
// Workers register themselves; with --start the run begins as soon as the configured numbers
// of workers have registered (otherwise on `reinctl start`). With `rounds:` the run also waits
// for a rein-feedback and a reward-model learner (rein-learner --reward_model_learner).
// Checkpoints and stats.jsonl go under --run_dir (default <run.output_dir>/<run.name>).
// --resume takes a checkpoint or a run folder (its newest checkpoint; none: a fresh start).
// Checkpoint requests may write only under the run folder and the --checkpoint_root folders.
// SIGTERM stops the run after its current iteration and writes the final checkpoint while the
// server still answers (workers with a drain grace wait for that), then the process exits.
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/config/experiment_config.h"
#include "common/data/prompt_dataset.h"
#include "common/data/training_examples.h"
#include "common/files/run_folder.h"
#include "common/log/log.h"
#include "common/metrics/families.h"
#include "common/process/process_setup.h"
#include "common/rpc/client.h"
#include "common/rpc/config_options.h"
#include "common/rpc/serve.h"
#include "common/status/annotate.h"
#include "common/status/status_macros.h"
#include "common/tokenizer/tokenizer.h"
#include "services/coordinator/coordinator_service.h"
#include "services/coordinator/evaluation.h"
#include "services/coordinator/run_checkpoint.h"

ABSL_FLAG(std::string, config, "", "Experiment config file (YAML). Required.");
ABSL_FLAG(int, port, 0, "gRPC port; 0 picks a free one (announced on stdout).");
ABSL_FLAG(bool, start, false, "Start the run at once; it waits for its workers to register.");
ABSL_FLAG(bool, exit_when_done, false, "Exit when the run has finished or failed.");
ABSL_FLAG(std::string, run_dir, "",
          "Folder for checkpoints and stats.jsonl; default <run.output_dir>/<run.name>.");
ABSL_FLAG(std::string, resume, "",
          "Checkpoint folder to resume from (its learner/ part goes to learner --resume), or a "
          "run folder: its newest complete checkpoint, a fresh start if it has none.");

ABSL_FLAG(std::string, checkpoint_root, "",
          "Comma-separated folders besides the run folder under which a Checkpoint request may "
          "write (the learner ranks need them as --checkpoint_root too).");

namespace rein::coordinator {
namespace {

// How long a signalled coordinator waits for the iteration in flight and the final checkpoint.
constexpr absl::Duration kStopTimeout = absl::Minutes(10);

data::PromptFormat ToDataFormat(config::PromptFormat format) {
  switch (format) {
    case config::PromptFormat::kText: return data::PromptFormat::kText;
    case config::PromptFormat::kChat: return data::PromptFormat::kChat;
    case config::PromptFormat::kAuto: return data::PromptFormat::kAuto;
  }
  return data::PromptFormat::kAuto;
}

RunLoopOptions LoopOptions(const config::ExperimentConfig& c) {
  RunLoopOptions options;
  options.mode = c.learner.mode;
  options.async = c.run.mode == config::RunMode::kAsync;
  options.train_batch_size = static_cast<uint32_t>(c.data.train_batch_size);
  options.checkpoint_every = static_cast<uint32_t>(c.run.checkpoint_every);
  options.kl.adaptive = c.ppo.kl_controller == config::KlController::kAdaptive;
  options.kl.init_coef = c.ppo.kl_coef;
  options.kl.target_kl = c.ppo.kl_target;
  options.kl.horizon = static_cast<double>(c.ppo.kl_horizon);
  options.batch_size = static_cast<uint32_t>(c.rollout.batch_size);
  options.samples_per_prompt = static_cast<uint32_t>(c.rollout.samples_per_prompt);
  options.seed = c.run.seed;
  options.safety = c.safety;
  options.sharded_optimizer = c.learner.zero_stage == 1 && c.learner.ranks > 1;
  rein::v1::SamplingParams& sampling = options.sampling;
  sampling.set_temperature(static_cast<float>(c.rollout.sampling.temperature));
  // The config's 0 is greedy; on the wire 0 means the default temperature 1.
  sampling.set_greedy(c.rollout.sampling.temperature == 0);
  sampling.set_top_k(c.rollout.sampling.top_k);
  sampling.set_top_p(static_cast<float>(c.rollout.sampling.top_p));
  sampling.set_max_new_tokens(c.rollout.sampling.max_new_tokens);
  sampling.mutable_stop_token_ids()->Add(c.rollout.sampling.stop_token_ids.begin(),
                                         c.rollout.sampling.stop_token_ids.end());
  options.expected_workers = {{rein::v1::ROLE_LEARNER, c.learner.ranks}};
  if (config::IsReinforcementLearning(c.learner.mode)) {
    options.expected_workers[rein::v1::ROLE_ROLLOUT] = c.rollout.replicas;
    options.expected_workers[rein::v1::ROLE_REWARD] = c.reward.replicas;
  }
  if (config::UsesReference(c.learner.mode)) {
    options.expected_workers[rein::v1::ROLE_REFERENCE] = c.reference.replicas;
  }
  if (c.rounds.count > 0) {
    options.expected_workers[rein::v1::ROLE_FEEDBACK] = 1;
    if (config::IsOfflinePreference(c.learner.mode)) {
      options.expected_workers[rein::v1::ROLE_ROLLOUT] = c.rollout.replicas;  // samples rounds
    } else {
      options.expected_workers[rein::v1::ROLE_REWARD_LEARNER] = 1;
    }
    if (c.rounds.cost_model.steps > 0) options.expected_workers[rein::v1::ROLE_COST_LEARNER] = 1;
  }
  return options;
}

// Runs with rounds: the driver's options.
RoundOptions RoundDriverOptions(const config::ExperimentConfig& c, const RunLoopOptions& loop,
                                rpc::ClientOptions feedback_client) {
  RoundOptions options;
  options.rounds = c.rounds;
  options.mode = c.learner.mode;
  options.run_name = c.run.name;
  options.run_dir = loop.run_dir;
  options.sft_policy = c.model.policy;
  options.seed = c.run.seed;
  options.sampling = loop.sampling;
  options.prompt_format = ToDataFormat(c.data.prompt_format);
  options.max_prompt_tokens = c.data.max_prompt_tokens;
  options.max_response_tokens = c.data.max_response_tokens;
  options.feedback_client = std::move(feedback_client);
  options.call_timeout = c.server.call_timeout;
  options.red_team_campaign = c.eval.campaign && !c.eval.red_team.empty();
  options.red_team_overlap = c.eval.overlap;
  return options;
}


// What the coordinator itself needs from the config, checked before anything is loaded so the
// error names the key rather than an empty path.
absl::Status CheckRunInputs(const config::ExperimentConfig& c) {
  const config::LearnerMode mode = c.learner.mode;
  if (config::IsReinforcementLearning(mode) && c.data.prompts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("learner.mode ", config::EnumName(mode),
                                                   " samples responses: set data.prompts"));
  }
  const bool rounds_give_data = c.rounds.count > 0 && config::IsOfflinePreference(mode);
  if (rounds_give_data && c.data.prompts.empty() && c.rounds.prompts.empty()) {
    return absl::InvalidArgumentError(
        "rounds sample responses to judge: set rounds.prompts or data.prompts");
  }
  if (!config::IsReinforcementLearning(mode) && !rounds_give_data && c.data.train.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("learner.mode ", config::EnumName(mode),
                                                   " trains on examples: set data.train"));
  }
  if (c.model.TokenizerPath().empty()) {
    return absl::InvalidArgumentError(
        "set model.policy (or model.tokenizer): the coordinator tokenizes the data with it");
  }
  return absl::OkStatus();
}

// The data the mode trains on, loaded and tokenised up front.
struct LoadedData {
  std::unique_ptr<data::PromptDataset> prompts;
  std::unique_ptr<data::PromptDataset> round_prompts;  // runs with rounds: the judged ones
  std::unique_ptr<data::PromptDataset> eval_prompts;   // data.eval_prompts
  std::unique_ptr<data::PromptDataset> red_team;       // eval.red_team
  std::unique_ptr<data::SftDataset> sft;
  std::unique_ptr<data::PreferenceDataset> preferences;
  RunData view() const { return {prompts.get(), sft.get(), preferences.get()}; }
};

absl::StatusOr<LoadedData> LoadData(const config::ExperimentConfig& c,
                                    const tokenizer::Tokenizer& tokenizer) {
  LoadedData loaded;
  const config::LearnerMode mode = c.learner.mode;
  if (c.rounds.count > 0) {
    data::PromptDatasetOptions options;
    options.format = ToDataFormat(c.data.prompt_format);
    options.max_prompt_tokens = c.data.max_prompt_tokens;
    const std::string& path = c.rounds.prompts.empty() ? c.data.prompts : c.rounds.prompts;
    ASSIGN_OR_RETURN(loaded.round_prompts,
                     Annotate(c.rounds.prompts.empty() ? "data.prompts" : "rounds.prompts",
                              data::PromptDataset::Load(path, tokenizer, options)));
    // Offline learners with rounds train on each round's feedback, not on data.train.
    if (config::IsOfflinePreference(mode)) return loaded;
  }
  if (config::IsReinforcementLearning(mode)) {
    data::PromptDatasetOptions options;
    options.format = ToDataFormat(c.data.prompt_format);
    options.max_prompt_tokens = c.data.max_prompt_tokens;
    ASSIGN_OR_RETURN(loaded.prompts,
                     Annotate("data.prompts",
                              data::PromptDataset::Load(c.data.prompts, tokenizer, options)));
    REIN_LOG(INFO, "coordinator") << loaded.prompts->size() << " prompts ("
                                  << loaded.prompts->skipped() << " skipped as too long) from "
                                  << c.data.prompts;
    if (!c.data.eval_prompts.empty()) {
      ASSIGN_OR_RETURN(loaded.eval_prompts,
                       Annotate("data.eval_prompts", data::PromptDataset::Load(
                                                         c.data.eval_prompts, tokenizer, options)));
    }
    if (!c.eval.red_team.empty()) {
      ASSIGN_OR_RETURN(loaded.red_team,
                       Annotate("eval.red_team",
                                data::PromptDataset::Load(c.eval.red_team, tokenizer, options)));
    }
    return loaded;
  }
  data::TrainingDataOptions options;
  options.format = ToDataFormat(c.data.prompt_format);
  options.max_prompt_tokens = c.data.max_prompt_tokens;
  options.max_response_tokens = c.data.max_response_tokens;
  size_t size = 0, skipped = 0;
  if (mode == config::LearnerMode::kSft) {
    ASSIGN_OR_RETURN(loaded.sft, Annotate("data.train",
                                          data::LoadSftDataset(c.data.train, tokenizer, options)));
    size = loaded.sft->size();
    skipped = loaded.sft->skipped();
  } else {
    ASSIGN_OR_RETURN(loaded.preferences,
                     Annotate("data.train",
                              data::LoadPreferenceDataset(c.data.train, tokenizer, options)));
    if (mode == config::LearnerMode::kCostModel) {
      size_t left_out = 0;
      ASSIGN_OR_RETURN(loaded.preferences, data::CostModelView(*loaded.preferences, &left_out));
      REIN_LOG(INFO, "coordinator") << "cost-model: " << left_out
                                    << " comparisons left out (only approve/flag labels train it)";
    }
    if (config::IsOfflinePreference(mode)) {
      size_t left_out = 0;
      ASSIGN_OR_RETURN(loaded.preferences,
                       data::OfflinePreferenceView(*loaded.preferences,
                                                   mode != config::LearnerMode::kKto, &left_out));
      REIN_LOG(INFO, "coordinator") << config::EnumName(mode) << ": " << left_out
                                    << " judgements give nothing to learn in this mode "
                                       "(ties, or labels without a pair for dpo/ipo)";
    }
    size = loaded.preferences->size();
    skipped = loaded.preferences->skipped();
  }
  REIN_LOG(INFO, "coordinator") << size << " training examples (" << skipped
                                << " skipped as too long) from " << c.data.train;
  return loaded;
}

// The evaluator of data.eval_prompts and eval.red_team; null when neither is set.
std::unique_ptr<Evaluator> MakeEvaluator(const config::ExperimentConfig& c,
                                         const RunLoopOptions& loop, const StageContext& stages,
                                         const LoadedData& loaded, prometheus::Registry& metrics) {
  std::vector<EvalSet> sets;
  if (loaded.eval_prompts) sets.push_back({"eval", loaded.eval_prompts.get()});
  if (loaded.red_team) sets.push_back({"red-team", loaded.red_team.get()});
  if (sets.empty()) return nullptr;
  EvaluationOptions options{c.eval, c.run.seed, loop.sampling, loop.run_dir};
  return std::make_unique<Evaluator>(std::move(options), stages, std::move(sets), metrics);
}

// The checkpoint to resume from, checked against the config.
absl::StatusOr<std::optional<CoordinatorState>> ResumeState(const config::ExperimentConfig& c) {
  const std::string given = absl::GetFlag(FLAGS_resume);
  ASSIGN_OR_RETURN(const std::string dir, files::ResolveResume(given));
  if (dir.empty()) {
    if (!given.empty()) {
      REIN_LOG(INFO, "coordinator") << "no checkpoint in " << given << " yet: starting afresh";
    }
    return std::nullopt;
  }
  ASSIGN_OR_RETURN(CoordinatorState state, ReadRunCheckpoint(dir));
  if (state.mode != config::EnumName(c.learner.mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint ", dir, " is of a ", state.mode, " run; this config's learner.mode is ",
        config::EnumName(c.learner.mode)));
  }
  if (state.iteration >= static_cast<uint64_t>(c.run.iterations)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint ", dir, " is at iteration ", state.iteration, " of run.iterations ",
        c.run.iterations, ": nothing left to run (raise run.iterations to continue)"));
  }
  REIN_LOG(INFO, "coordinator") << "resuming from " << dir << " after iteration "
                                << state.iteration;
  return state;
}

absl::Status RunCoordinator(rpc::ShutdownSignal& shutdown) {
  ASSIGN_OR_RETURN(config::ExperimentConfig c,
                   config::LoadExperimentConfig(absl::GetFlag(FLAGS_config)));
  log::SetMinLevel(c.run.log_level);
  RETURN_IF_ERROR(CheckRunInputs(c));
  ASSIGN_OR_RETURN(auto tokenizer,
                   Annotate(c.model.TokenizerKey(),
                            tokenizer::Tokenizer::FromDirectory(c.model.TokenizerPath())));
  ASSIGN_OR_RETURN(LoadedData loaded, LoadData(c, *tokenizer));
  ASSIGN_OR_RETURN(std::optional<CoordinatorState> resumed, ResumeState(c));
  RunLoopOptions loop_options = LoopOptions(c);
  RETURN_IF_ERROR(rl::KlController::Create(loop_options.kl).status());
  loop_options.run_dir = absl::GetFlag(FLAGS_run_dir);
  if (loop_options.run_dir.empty()) {
    loop_options.run_dir = absl::StrCat(c.run.output_dir, "/", c.run.name);
  }
  loop_options.push_weights_first = resumed.has_value();
  for (absl::string_view root :
       absl::StrSplit(absl::GetFlag(FLAGS_checkpoint_root), ',', absl::SkipEmpty())) {
    loop_options.checkpoint_roots.emplace_back(root);
  }

  rpc::ServeOptions serve;
  serve.name = "rein-coordinator";
  ASSIGN_OR_RETURN(serve.server, rpc::ServerOptionsFromConfig(c.server));
  serve.server.port = absl::GetFlag(FLAGS_port);
  serve.metrics.host = c.server.host;
  serve.metrics.port = c.server.metrics_port;
  ASSIGN_OR_RETURN(rpc::ClientOptions client,
                   rpc::ClientOptionsFromConfig(c.server, rpc::AuthRole::kOperator));

  auto metrics = std::make_shared<prometheus::Registry>();
  WorkerRegistry registry(metrics.get());
  WorkerClients clients(client);
  KvStore store;
  rein::v1::HyperParameters initial;
  initial.set_kl_coef(resumed ? resumed->kl_coef : c.ppo.kl_coef);
  initial.set_learning_rate(resumed ? resumed->learning_rate : c.learner.learning_rate);
  RunState run(static_cast<uint64_t>(c.run.iterations), resumed ? resumed->iteration + 1 : 1,
               initial);
  run.ExportState(metrics::AddGauge(*metrics, "rein_coordinator_run_state",
                                    "The run's state: 1 waiting for workers, 2 running, 3 paused, "
                                    "4 stopping, 5 finished, 6 failed, 7 stopped."));
  const StageContext stages{&registry, &clients, c.server.call_timeout};
  RunLoop loop(loop_options, stages, loaded.view(), run, *metrics, resumed);
  std::unique_ptr<Evaluator> evaluator = MakeEvaluator(c, loop_options, stages, loaded, *metrics);
  if (evaluator) loop.AttachEvaluator(evaluator.get());
  std::unique_ptr<RoundDriver> rounds;
  if (c.rounds.count > 0) {
    ASSIGN_OR_RETURN(rpc::ClientOptions feedback_client, rpc::FeedbackAdminClientOptions(c));
    rounds = std::make_unique<RoundDriver>(
        RoundDriverOptions(c, loop_options, std::move(feedback_client)), stages,
        loaded.round_prompts.get(), tokenizer.get(), run, *metrics,
        resumed ? resumed->rounds : std::nullopt);
    loop.AttachRounds(rounds.get());
  }
  absl::Status outcome;
  absl::Mutex outcome_mu;
  absl::Notification ended;
  CoordinatorService service(registry, store, run, loop, [&](const absl::Status& status) {
    {
      absl::MutexLock lock(&outcome_mu);
      outcome = status;
    }
    ended.Notify();
    if (absl::GetFlag(FLAGS_exit_when_done)) shutdown.RequestShutdown();
  });
  // A signal stops the run as `reinctl run stop` does, and the server answers until the loop
  // has written its final checkpoint and status: workers draining on the same signal (a
  // scancel reaches every process of the job) keep serving that long.
  serve.before_stop = [&](int signal) {
    if (signal == 0 || !service.started()) return;
    REIN_LOG(INFO, "coordinator") << "signal " << signal
                                  << ": stopping after the current iteration";
    run.Stop();
    if (!ended.WaitForNotificationWithTimeout(kStopTimeout)) {
      REIN_LOG(WARNING, "coordinator") << "the run did not stop within "
                                       << absl::FormatDuration(kStopTimeout) << "; exiting";
    }
  };
  // A worker id taken over by a second process is refused while the first still answers.
  service.SetLivenessProbe([client](const std::string& address) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = rpc::CreateChannel(address, client);
    return channel.ok() && rpc::CheckHealth(**channel, client, "", absl::Seconds(2)).ok();
  });
  RETURN_IF_ERROR(rpc::Serve(serve, {rpc::Bind<rein::v1::Coordinator>(&service)}, metrics,
                             shutdown, [&](const rpc::Server&) {
                               if (absl::GetFlag(FLAGS_start)) service.StartRun();
                               return absl::OkStatus();
                             }));
  run.Stop();
  absl::MutexLock lock(&outcome_mu);
  return outcome;
}

}  // namespace
}  // namespace rein::coordinator

int main(int argc, char** argv) {
  auto shutdown = rein::rpc::ShutdownSignal::Install();
  rein::ParseFlags(argc, argv,
                   "rein-coordinator --config run.yaml [--port 0] [--start] [--exit_when_done] [--run_dir DIR] [--resume CHECKPOINT]: serves the run's control plane and schedules its iterations");
  rein::InitProcess("coordinator");
  if (absl::GetFlag(FLAGS_config).empty()) {
    REIN_LOG(ERROR, "main") << "--config is required";
    return 2;
  }
  absl::Status status = rein::coordinator::RunCoordinator(*shutdown);
  if (!status.ok()) {
    REIN_LOG(ERROR, "main") << status;
    return 1;
  }
  return 0;
}
