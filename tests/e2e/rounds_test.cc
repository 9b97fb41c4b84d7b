// Rounds end to end over real processes: `reinctl up` runs the coordinator, rollout, reward,
// reference, learner, rein-feedback and the reward-model learner; `rein-demo crowd --join`
// plays the annotators of each round's campaign over HTTP. The run is killed (SIGKILL to every
// process) once while round 2 collects judgements and once in round 2's training phase, and
// resumed each time from its last checkpoint.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

namespace fs = std::filesystem;

// Items per round, each judged once: with one judgement an item is decisive unless the two
// responses tie, so every round yields pairs for the reward model (two judgements that
// disagree make a tie, and the crowd's spammer disagrees often).
constexpr int kItemsPerRound = 16;

std::string WriteRoundsConfig(const std::string& dir) {
  const std::string& world = WorldDir();
  fs::create_directories(dir);
  std::ofstream(dir + "/admin.token") << "rounds-test-admin-token\n";
  const std::string path = dir + "/rounds.yaml";
  std::ofstream(path)
      << "run: {name: e2e, seed: 5, output_dir: " << dir << "/runs, checkpoint_every: 1}\n"
      << "data: {prompts: " << world << "/prompts.jsonl, prompt_format: text}\n"
      << "model: {policy: " << world << "/policy-init}\n"
      << "rollout: {replicas: 1, capacity: 8, batch_size: 4, samples_per_prompt: 2,"
         " sampling: {max_new_tokens: 8}}\n"
      << "learner: {learning_rate: 0.001, critic_init: policy, micro_batch_size: 4}\n"
      << "ppo: {epochs: 1, minibatches: 2}\n"
      << "rounds:\n  count: 2\n  iterations: 4\n  prompts_per_round: " << kItemsPerRound
      << "\n  overlap: 1\n  include_synthetic: true\n"
      << "  poll_interval: 200ms\n"
      << "  reward_model: {steps: 6, batch_size: 8, learning_rate: 0.001,"
         " heldout_fraction: 0.3}\n"
      << "  cost_model: {steps: 4, batch_size: 4, learning_rate: 0.001}\n"
      << "feedback: {store: sqlite:" << dir << "/feedback.db, admin_token_file: " << dir
      << "/admin.token, submissions_per_minute: 0}\n"
      << "eval: {red_team: " << RedTeamPrompts(dir, 4) << "}\n"
      << "server: {call_timeout: 60s, drain_timeout: 5s}\n";
  return path;
}

// rein-feedback's gRPC and HTTP addresses as its log announces them after byte `from` (the log
// is appended to across restarts). Waits up to a minute.
std::pair<std::string, std::string> FeedbackAddresses(const std::string& run_dir, size_t from) {
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (true) {
    const std::string all = ReadFile(run_dir + "/logs/feedback-0.log");
    const std::string log = all.substr(std::min(from, all.size()));
    std::string grpc, http;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      for (auto [marker, out] :
           {std::pair{" listening on ", &grpc}, std::pair{" http on ", &http}}) {
        if (size_t at = line.rfind(marker); at != std::string::npos) {
          *out = std::string(absl::StripAsciiWhitespace(line.substr(at + std::strlen(marker))));
        }
      }
    }
    if (!grpc.empty() && !http.empty()) return {grpc, http};
    REQUIRE(absl::Now() < deadline);
    absl::SleepFor(absl::Milliseconds(100));
  }
}

size_t LogSize(const std::string& run_dir) {
  std::error_code error;
  const auto size = fs::file_size(run_dir + "/logs/feedback-0.log", error);
  return error ? 0 : static_cast<size_t>(size);
}

// The simulated crowd of campaign `campaign` (`items` items), run to completion; returns its
// summary. On a flag campaign it flags the responses that hold a harm word (world.h).
nlohmann::json Judge(const std::string& dir, const std::string& run_dir,
                     const std::string& campaign, int items, int seed, size_t log_from) {
  const auto [grpc, http] = FeedbackAddresses(run_dir, log_from);
  const std::string summary = absl::StrCat(dir, "/crowd-", campaign, ".json");
  auto result = testing::RunCommand(
      {testing::BuiltBinary("rein-demo"), "crowd", "--join", "--join-timeout", "240",
       "--feedback-grpc", grpc, "--feedback-http", http, "--admin-token-file",
       dir + "/admin.token", "--policy", WorldDir() + "/policy-init", "--prompts",
       WorldDir() + "/prompts.jsonl", "--max-new-tokens", "8", "--campaign", campaign, "--items",
       std::to_string(items), "--overlap", "1", "--annotators", "3", "--gold-rate", "0",
       "--seed", std::to_string(seed), "--summary", summary},
      "", absl::Minutes(5));
  REQUIRE(result.ok());
  INFO(result->stdout_text << result->stderr_text);
  REQUIRE(result->exit_code == 0);
  std::ifstream in(summary);
  return nlohmann::json::parse(in);
}

// The crowd judging round `round`'s pairwise campaign.
nlohmann::json JudgeRound(const std::string& dir, const std::string& run_dir, int round,
                          size_t log_from) {
  return Judge(dir, run_dir, absl::StrCat("e2e-round-", round), kItemsPerRound, round, log_from);
}

// Kills reinctl up and every process of the run at once, as a crashed machine would.
void KillRun(testing::Subprocess& up, const std::string& run_dir) {
  REQUIRE(up.Signal(SIGKILL).ok());
  for (const auto& [name, pid] : Pids(run_dir)) kill(pid, SIGKILL);
  (void)up.Wait(absl::Seconds(30));
  // Wait until every one of them is gone (their ports and the SQLite file are free again).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (const auto& [name, pid] : Pids(run_dir)) {
    while (kill(pid, 0) == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  }
}

// Waits until `reinctl status` shows `text` (at most 4 minutes; a run that ended fails it).
void WaitForStatus(const std::string& run_dir, const std::string& text) {
  const absl::Time deadline = absl::Now() + absl::Minutes(4);
  while (true) {
    const testing::CommandResult status = Ctl({"status", "--run", run_dir});
    if (status.stdout_text.find(text) != std::string::npos) return;
    INFO(status.stdout_text << status.stderr_text);
    REQUIRE(status.stdout_text.find("the run has ended") == std::string::npos);
    REQUIRE(absl::Now() < deadline);
    absl::SleepFor(absl::Milliseconds(200));
  }
}

std::vector<nlohmann::json> RoundRecords(const std::string& run_dir) {
  std::vector<nlohmann::json> records;
  std::ifstream in(run_dir + "/rounds.jsonl");
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}


TEST_CASE("two rounds through rein-feedback survive kills while collecting and while training") {
  const std::string dir = testing::MakeTempDir("rein-e2e-rounds-");
  const std::string run_dir = dir + "/run";
  const std::string config = WriteRoundsConfig(dir);

  // Round 1: the crowd judges; the run trains the reward model, reloads it and runs RL.
  auto up = StartUp(config, run_dir);
  const nlohmann::json crowd1 = JudgeRound(dir, run_dir, 1, 0);
  CHECK(crowd1["items"] == kItemsPerRound);

  // Round 2 posts its items; kill everything while it waits for judgements.
  WaitForStatus(run_dir, "round 2/2 collecting");
  REQUIRE(fs::exists(run_dir + "/checkpoints/iter-4/coordinator.json"));
  KillRun(*up, run_dir);
  CHECK_THAT(ReadFile(run_dir + "/checkpoints/iter-4/coordinator.json"),
             Catch::Contains("round-1/reward-learner/policy"));

  // Resumed from round 1's end: the campaign is found again with its items (none added twice).
  // Paused while collecting, the run goes on to train and reload the reward model, then waits
  // before round 2's first iteration.
  size_t log_from = LogSize(run_dir);
  up = StartUp(config, run_dir, {"--resume", run_dir + "/checkpoints/iter-4"});
  // Until the new reinctl up has cleared the folder, its coordinator.address is the killed
  // run's, whose port another process (another test's coordinator) may hold by now.
  REQUIRE(up->WaitForLine("coordinator on ", absl::Minutes(2)).ok());
  WaitForStatus(run_dir, "round 2/2 collecting");
  CHECK(Ctl({"pause", "--run", run_dir}).exit_code == 0);
  // People flag round 1's red-team responses (4 prompts x 2); round 2 trains the cost model
  // on those flags.
  const nlohmann::json flags = Judge(dir, run_dir, "e2e-red-team-1", 4, 7, log_from);
  CHECK(flags["judgements_submitted"] == 4);
  const nlohmann::json crowd2 = JudgeRound(dir, run_dir, 2, log_from);
  CHECK(crowd2["items"] == kItemsPerRound);
  CHECK(crowd2["judgements_submitted"] == kItemsPerRound);

  // Killed in the training phase, after a checkpoint taken there: the resumed run keeps round
  // 2's reward model (the replicas reload it) instead of redoing the round's phases.
  WaitForStatus(run_dir, "PAUSED   round 2/2 training");
  CHECK(Ctl({"checkpoint", "--run", run_dir, "--dir", run_dir + "/training-ckpt"}).exit_code == 0);
  KillRun(*up, run_dir);
  CHECK_THAT(ReadFile(run_dir + "/training-ckpt/coordinator.json"),
             Catch::Contains("round-2/reward-learner/policy"));
  up = StartUp(config, run_dir, {"--resume", run_dir + "/training-ckpt"});
  auto exit_code = up->Wait(absl::Minutes(4));
  INFO(up->output() << ReadFile(run_dir + "/logs/coordinator.log"));
  REQUIRE(exit_code.ok());
  REQUIRE(*exit_code == 0);

  // Every iteration ran under the reward model of its own round, the ones after the resume
  // too (the reward replicas were put back on version 2).
  std::map<int, nlohmann::json> last_of;
  for (const nlohmann::json& line : ReadStats(run_dir)) last_of[line["iteration"]] = line;
  REQUIRE(last_of.size() == 8);
  for (const auto& [iteration, line] : last_of) {
    const int round = iteration <= 4 ? 1 : 2;
    CHECK(line["round"] == round);
    CHECK(line["reward_model/version"] == round);
  }
  const std::string coordinator_log = ReadFile(run_dir + "/logs/coordinator.log");
  CHECK_THAT(coordinator_log, Catch::Contains("reward replicas back on reward model v2"));
  CHECK_THAT(coordinator_log, Catch::Contains("reward model learner restored"));
  CHECK_THAT(coordinator_log, Catch::Contains("already holds 16 items"));
  // The last start trained no reward model: round 2's was in the checkpoint.
  CHECK_THAT(coordinator_log, Catch::Contains("round 2: reward model trained"));
  CHECK(coordinator_log.find("round 2: reward model trained") ==
        coordinator_log.rfind("round 2: reward model trained"));

  // One record per round, with the reward model's held-out accuracy and, in round 2, the
  // current policy rated against the SFT policy (version 0).
  std::vector<nlohmann::json> records = RoundRecords(run_dir);
  REQUIRE(records.size() == 2);
  CHECK(records[0]["round_end"] == 1);
  CHECK(records[0]["judgements"] == kItemsPerRound);
  CHECK(records[0]["reward_model_version"] == 1);
  CHECK(records[1]["round_end"] == 2);
  CHECK(records[1]["reward_model_version"] == 2);
  REQUIRE(records[1]["ratings"].size() == 2);
  CHECK(records[1]["ratings"][0]["policy_version"] == 0);
  CHECK(records[1]["ratings"][1]["policy_version"] > 0);
  // Round 1 compared two samples of one policy: nothing to rate until round 2.
  CHECK(records[0]["ratings_all_rounds"].empty());
  REQUIRE(records[1]["ratings_all_rounds"].size() == 2);
  for (int v = 0; v < 2; ++v) {
    CHECK(records[1]["ratings_all_rounds"][v]["policy_version"] ==
          records[1]["ratings"][v]["policy_version"]);
    CHECK(records[1]["ratings_all_rounds"][v]["elo"].get<double>() ==
          Approx(records[1]["ratings"][v]["elo"].get<double>()));
  }
  for (const nlohmann::json& record : records) {
    CHECK(record.contains("reward_model_accuracy"));
    CHECK(record.contains("kl/mean"));
  }
  CHECK(fs::exists(run_dir + "/rounds/round-2/reward-learner/policy/config.json"));
  // Each round's end evaluates the red-team set and posts its responses for flagging.
  for (int r = 0; r < 2; ++r) {
    INFO(records[r].dump());
    CHECK(records[r].contains("eval/red-team/reward_mean"));
    CHECK(records[r]["red_team_campaign"] == absl::StrCat("e2e-red-team-", r + 1));
  }
  CHECK_THAT(coordinator_log, Catch::Contains("4 red-team items in e2e-red-team-2"));
  // Round 2 trained a cost model on the flags, and the reward replicas scored with it from then
  // on, after the last resume too.
  CHECK_THAT(coordinator_log, Catch::Contains("round 2: cost model trained on 8 examples"));
  CHECK_THAT(coordinator_log, Catch::Contains("and back on cost model v2"));
  for (const auto& [iteration, line] : last_of) {
    INFO("iteration " << iteration);
    CHECK(line.contains("cost/mean") == (iteration > 4));
  }
  CHECK(records[1].contains("eval/red-team/flagged_rate"));
  CHECK_THAT(ReadFile(run_dir + "/status.json"), Catch::Contains("RUN_STATE_FINISHED"));
}

TEST_CASE("dpo rounds train the policy straight from each round's judgements") {
  const std::string dir = testing::MakeTempDir("rein-e2e-dpo-rounds-");
  const std::string& world = WorldDir();
  std::ofstream(dir + "/admin.token") << "dpo-rounds-admin-token\n";
  const std::string config = dir + "/rounds.yaml";
  std::ofstream(config)
      << "run: {name: dpo, seed: 3, output_dir: " << dir << "/runs, checkpoint_every: 0}\n"
      << "data: {prompts: " << world << "/prompts.jsonl, prompt_format: text,"
      << " train_batch_size: 4}\n"
      << "model: {policy: " << world << "/policy-init}\n"
      << "rollout: {replicas: 1, capacity: 8, sampling: {max_new_tokens: 8}}\n"
      << "learner: {mode: dpo, learning_rate: 0.001, micro_batch_size: 4}\n"
      << "rounds: {count: 2, iterations: 3, prompts_per_round: " << kItemsPerRound
      << ", overlap: 1, include_synthetic: true, poll_interval: 200ms}\n"
      << "feedback: {store: sqlite:" << dir << "/feedback.db, admin_token_file: " << dir
      << "/admin.token, submissions_per_minute: 0}\n"
      << "server: {call_timeout: 60s, drain_timeout: 5s}\n";
  const std::string run_dir = dir + "/run";
  auto up = StartUp(config, run_dir);
  for (int round = 1; round <= 2; ++round) {
    const nlohmann::json crowd =
        Judge(dir, run_dir, absl::StrCat("dpo-round-", round), kItemsPerRound, round, 0);
    CHECK(crowd["judgements_submitted"] == kItemsPerRound);
  }
  auto exit_code = up->Wait(absl::Minutes(4));
  INFO(up->output() << ReadFile(run_dir + "/logs/coordinator.log"));
  REQUIRE(exit_code.ok());
  REQUIRE(*exit_code == 0);
  // No reward model anywhere: the policy learner trained DPO on the rounds' pairs, and the
  // rollouts sampled round 2 from the policy round 1 trained.
  const std::vector<nlohmann::json> stats = ReadStats(run_dir);
  REQUIRE(stats.size() == 6);
  for (const nlohmann::json& line : stats) CHECK(line.contains("loss/dpo"));
  const std::string coordinator_log = ReadFile(run_dir + "/logs/coordinator.log");
  CHECK_THAT(coordinator_log, Catch::Contains("round 2: rollouts hold policy v3"));
  CHECK_FALSE(fs::exists(run_dir + "/logs/reward-learner-0.log"));
  CHECK_FALSE(fs::exists(run_dir + "/logs/reward-0.log"));
  std::vector<nlohmann::json> records = RoundRecords(run_dir);
  REQUIRE(records.size() == 2);
  REQUIRE(records[1]["ratings"].size() == 2);
  CHECK(records[1]["ratings"][0]["policy_version"] == 0);
  CHECK(records[1]["ratings"][1]["policy_version"] == 3);
}

}  // namespace
}  // namespace rein::e2e
