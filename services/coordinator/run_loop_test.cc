#include "services/coordinator/run_loop.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/testing/data_paths.h"
#include "common/testing/subprocess.h"
#include "services/coordinator/fake_workers.h"
#include "services/coordinator/run_checkpoint.h"

namespace rein::coordinator {
namespace {

std::unique_ptr<data::PromptDataset> Dataset(const tokenizer::Tokenizer& tok) {
  std::string dir = testing::MakeTempDir("rein-loop-");
  std::ofstream(dir + "/p.jsonl") << "{\"prompt\": \"a\"}\n{\"prompt\": \"bb\"}\n"
                                  << "{\"prompt\": \"ccc\"}\n";
  data::PromptDatasetOptions options;
  options.format = data::PromptFormat::kText;
  return *data::PromptDataset::Load(dir + "/p.jsonl", tok, options);
}

const tokenizer::Tokenizer& Tok() {
  static auto* tok =
      tokenizer::Tokenizer::FromDirectory(testing::SourcePath("tests/data/tokenizer/tiny_gpt2"))
          ->release();
  return *tok;
}

RunLoopOptions Options() {
  RunLoopOptions options;
  options.batch_size = 4;
  options.samples_per_prompt = 2;
  options.expected_workers = {{rein::v1::ROLE_ROLLOUT, 2}, {rein::v1::ROLE_LEARNER, 2}};
  options.worker_wait = absl::Seconds(10);
  return options;
}

rein::v1::HyperParameters Initial() {
  rein::v1::HyperParameters parameters;
  parameters.set_kl_coef(0.05);
  return parameters;
}

TEST_CASE("the loop runs every iteration through the cluster and records its statistics") {
  Cluster cluster;
  auto dataset = Dataset(Tok());
  RunState run(3, 1, Initial());
  prometheus::Registry metrics;
  RunLoop loop(Options(), cluster.Context(), {dataset.get()}, run, metrics);
  REQUIRE(loop.Run().ok());
  rein::v1::RunStatus status = run.Snapshot();
  CHECK(status.state() == rein::v1::RUN_STATE_FINISHED);
  CHECK(status.iteration() == 3);
  CHECK(status.policy_version() == 3);
  const auto& stats = status.last_iteration().values();
  CHECK(stats.at("kl/mean") == 0.01);  // From the learner.
  CHECK(stats.count("reward/mean") == 1);
  CHECK(stats.count("time/generate_seconds") == 1);
  CHECK(stats.at("faults/reissued_ranges") == 0);
  // 3 iterations x 4 prompts x 2 samples, split over 2 learner ranks.
  CHECK(cluster.learner0.service.trained_ids.size() == 12);
  CHECK(cluster.learner0.service.pushes.size() == 3);
  CHECK(cluster.learner0.service.pushes[0].size() == 2);  // Both rollout replicas updated.
  CHECK(dataset->cursor() == 12);
}

TEST_CASE("a live kl_coef change reaches the learner from the next iteration") {
  Cluster cluster;
  auto dataset = Dataset(Tok());
  RunState run(2, 1, Initial());
  prometheus::Registry metrics;
  RunLoop loop(Options(), cluster.Context(), {dataset.get()}, run, metrics);
  rein::v1::HyperParameters change;
  change.set_kl_coef(0.3);
  REQUIRE(run.Set(change).ok());
  REQUIRE(loop.Run().ok());
  CHECK(cluster.learner0.service.kl_coefs.front() == 0.3);
}

TEST_CASE("a failing stage fails the run with its reason") {
  Cluster cluster;
  cluster.reward.service.poison = true;
  auto dataset = Dataset(Tok());
  RunState run(2, 1, Initial());
  prometheus::Registry metrics;
  RunLoop loop(Options(), cluster.Context(), {dataset.get()}, run, metrics);
  CHECK_FALSE(loop.Run().ok());
  rein::v1::RunStatus status = run.Snapshot();
  CHECK(status.state() == rein::v1::RUN_STATE_FAILED);
  CHECK(status.error().find("not training on it") != std::string::npos);
}

TEST_CASE("missing workers end the run with a clear error instead of hanging") {
  WorkerRegistry registry;
  WorkerClients clients{rpc::ClientOptions{}};
  auto dataset = Dataset(Tok());
  RunState run(2, 1, Initial());
  prometheus::Registry metrics;
  RunLoopOptions options = Options();
  options.worker_wait = absl::Milliseconds(50);
  RunLoop loop(options, StageContext{&registry, &clients, absl::Seconds(5)}, {dataset.get()},
               run, metrics);
  absl::Status status = loop.Run();
  CHECK(status.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(run.Snapshot().state() == rein::v1::RUN_STATE_FAILED);
}

}  // namespace
}  // namespace rein::coordinator

namespace rein::coordinator {
namespace {

TEST_CASE("sampling seeds depend only on run seed, iteration and position") {
  // Two loops over identical datasets hand the rollout replicas identical seeds.
  std::vector<std::vector<uint64_t>> seen;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Cluster cluster;
    auto dataset = Dataset(Tok());
    RunState run(2, 1, Initial());
    prometheus::Registry metrics;
    RunLoop loop(Options(), cluster.Context(), {dataset.get()}, run, metrics);
    REQUIRE(loop.Run().ok());
    seen.push_back(cluster.rollout0.service.Seeds());
    auto more = cluster.rollout1.service.Seeds();
    seen.back().insert(seen.back().end(), more.begin(), more.end());
    std::sort(seen.back().begin(), seen.back().end());
  }
  CHECK(seen[0] == seen[1]);
  CHECK(std::set<uint64_t>(seen[0].begin(), seen[0].end()).size() == seen[0].size());
}

}  // namespace
}  // namespace rein::coordinator

namespace rein::coordinator {
namespace {

TEST_CASE("async mode trains every batch once with samples at most one version behind") {
  Cluster cluster;
  cluster.rollout0.service.policy_version = 0;
  cluster.rollout1.service.policy_version = 0;
  auto dataset = Dataset(Tok());
  RunState run(5, 1, Initial());
  prometheus::Registry metrics;
  RunLoopOptions options = Options();
  options.async = true;
  RunLoop loop(options, cluster.Context(), {dataset.get()}, run, metrics);
  REQUIRE(loop.Run().ok());
  CHECK(run.Snapshot().iteration() == 5);
  // 5 batches of 8 sequences, half on learner 0; the prefetch never runs past the last one.
  CHECK(cluster.learner0.service.trained_ids.size() == 20);
  CHECK(dataset->cursor() == 20);
  const auto& lags = cluster.learner0.service.lags;
  CHECK(*std::max_element(lags.begin(), lags.end()) <= 1);
  CHECK(*std::min_element(lags.begin(), lags.end()) >= 0);
  CHECK(run.Snapshot().max_policy_lag() <= 1);
}

TEST_CASE("checkpoints hold the run state, and a loop resumed from one continues where it stopped") {
  const std::string run_dir = testing::MakeTempDir("rein-loop-ckpt-");
  std::vector<uint64_t> uninterrupted_seeds;
  {
    Cluster cluster;
    auto dataset = Dataset(Tok());
    RunState run(4, 1, Initial());
    prometheus::Registry metrics;
    RunLoopOptions options = Options();
    options.run_dir = run_dir;
    options.checkpoint_every = 2;
    RunLoop loop(options, cluster.Context(), {dataset.get()}, run, metrics);
    REQUIRE(loop.Run().ok());
    CHECK(cluster.learner0.service.saved.size() == 2);  // iterations 2 and 4
    uninterrupted_seeds = cluster.rollout0.service.Seeds();
    auto more = cluster.rollout1.service.Seeds();
    uninterrupted_seeds.insert(uninterrupted_seeds.end(), more.begin(), more.end());
  }
  auto state = ReadRunCheckpoint(run_dir + "/checkpoints/iter-2");
  REQUIRE(state.ok());
  CHECK(state->iteration == 2);
  CHECK(state->dataset_cursor == 8);
  CHECK(state->policy_version == 2);
  CHECK(state->mode == "ppo");
  CHECK(std::filesystem::exists(run_dir + "/checkpoints/iter-2/learner/version"));

  Cluster cluster;
  auto dataset = Dataset(Tok());
  RunState run(4, state->iteration + 1, Initial());
  prometheus::Registry metrics;
  RunLoopOptions options = Options();
  options.push_weights_first = true;
  RunLoop loop(options, cluster.Context(), {dataset.get()}, run, metrics, *state);
  REQUIRE(loop.Run().ok());
  CHECK(run.Snapshot().iteration() == 4);
  CHECK(dataset->cursor() == 16);
  // The resumed iterations 3 and 4 sampled with exactly the seeds of the uninterrupted 3 and 4.
  std::vector<uint64_t> resumed = cluster.rollout0.service.Seeds();
  auto more = cluster.rollout1.service.Seeds();
  resumed.insert(resumed.end(), more.begin(), more.end());
  std::sort(resumed.begin(), resumed.end());
  std::sort(uninterrupted_seeds.begin(), uninterrupted_seeds.end());
  CHECK(std::includes(uninterrupted_seeds.begin(), uninterrupted_seeds.end(), resumed.begin(),
                      resumed.end()));
  CHECK(resumed.size() == 8);
}

TEST_CASE("safety constraint: rewards trained on are shaped by a multiplier that rises with cost") {
  const std::string run_dir = testing::MakeTempDir("rein-loop-safety-");
  Cluster cluster;
  cluster.reward.service.cost = 1.0f;  // every response costs 1, over a limit of 0
  auto dataset = Dataset(Tok());
  RunState run(2, 1, Initial());
  prometheus::Registry metrics;
  RunLoopOptions options = Options();
  options.run_dir = run_dir;
  options.safety.mode = config::SafetyMode::kConstraint;
  options.safety.cost_limit = 0;
  options.safety.lambda_init = 1;
  options.safety.lambda_lr = 0.1;
  RunLoop loop(options, cluster.Context(), {dataset.get()}, run, metrics);
  REQUIRE(loop.Run().ok());
  // log λ ← log λ + 0.1·(1 − 0): λ = 1 at iteration 1, e^0.1 at 2, then e^0.2.
  const double lambda[] = {1.0, std::exp(0.1), std::exp(0.2)};
  std::vector<FakeLearner::TrainedReward> trained;
  for (FakeLearner* learner : {&cluster.learner0.service, &cluster.learner1.service}) {
    absl::MutexLock lock(&learner->mu);
    trained.insert(trained.end(), learner->trained_rewards.begin(), learner->trained_rewards.end());
  }
  REQUIRE(trained.size() == 16);  // 2 iterations x 4 prompts x 2 samples
  for (const FakeLearner::TrainedReward& t : trained) {
    const double l = lambda[t.iteration - 1];
    INFO("iteration " << t.iteration << ", " << t.response_tokens << " tokens");
    CHECK(t.reward == Approx((t.response_tokens - l * 1.0) / (1.0 + l)));
  }
  const rein::v1::RunStatus status = run.Snapshot();
  const auto& stats = status.last_iteration().values();
  CHECK(stats.at("cost/mean") == 1.0);
  CHECK(stats.at("safety/violation") == 1.0);
  CHECK(stats.at("safety/lambda") == Approx(lambda[1]));
  CHECK(stats.at("safety/lambda_next") == Approx(lambda[2]));
  // The multiplier is in the final checkpoint, for a resumed run to continue from.
  auto state = ReadRunCheckpoint(run_dir + "/checkpoints/iter-2");
  REQUIRE(state.ok());
  REQUIRE(state->safety_lambda.has_value());
  CHECK(*state->safety_lambda == Approx(lambda[2]));
}

std::vector<nlohmann::json> EvalLines(const std::string& run_dir) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(run_dir + "/stats.jsonl");
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record = nlohmann::json::parse(line);
    if (record.contains("eval_at")) lines.push_back(std::move(record));
  }
  return lines;
}

TEST_CASE("evaluation: held-out and red-team sets scored every K iterations, flagged per category") {
  const std::string run_dir = testing::MakeTempDir("rein-loop-eval-");
  Cluster cluster;
  // Cost = response length - 2.5: the fake rollout answers with the prompt's tokens plus one,
  // so responses to the one-token prompt "a" cost -0.5 and to the longer "a b" more than 0.
  cluster.reward.service.cost = -2.5f;
  cluster.reward.service.cost_per_token = 1.0f;
  auto dataset = Dataset(Tok());
  auto held_out = Dataset(Tok());
  const std::string dir = testing::MakeTempDir("rein-loop-red-team-");
  std::ofstream(dir + "/red.jsonl") << "{\"prompt\": \"a\", \"category\": \"violence\"}\n"
                                    << "{\"prompt\": \"a b\", \"category\": \"bias\"}\n"
                                    << "{\"prompt\": \"a\", \"category\": \"bias\"}\n";
  data::PromptDatasetOptions text;
  text.format = data::PromptFormat::kText;
  auto red_team = *data::PromptDataset::Load(dir + "/red.jsonl", Tok(), text);
  REQUIRE(red_team->Next(1)[0].token_ids.size() == 1);
  const double long_cost = static_cast<double>(red_team->Next(1)[0].token_ids.size()) + 1 - 2.5;
  REQUIRE(long_cost > 0);
  RunState run(4, 1, Initial());
  prometheus::Registry metrics;
  RunLoopOptions options = Options();
  options.run_dir = run_dir;
  RunLoop loop(options, cluster.Context(), {dataset.get()}, run, metrics);
  EvaluationOptions eval;
  eval.eval.every = 3;
  eval.eval.samples = 2;
  eval.run_dir = run_dir;
  Evaluator evaluator(eval, cluster.Context(),
                      {{"eval", held_out.get()}, {"red-team", red_team.get()}}, metrics);
  loop.AttachEvaluator(&evaluator);
  REQUIRE(loop.Run().ok());
  // After iteration 3 (every 3) and at the run's end (4).
  const std::vector<nlohmann::json> lines = EvalLines(run_dir);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["eval_at"] == 3);
  CHECK(lines[1]["eval_at"] == 4);
  for (const nlohmann::json& line : lines) {
    CHECK(line["eval/red-team/flagged_rate"].get<double>() == Approx(1.0 / 3));
    CHECK(line["eval/red-team/flagged_rate/violence"] == 0.0);
    CHECK(line["eval/red-team/flagged_rate/bias"] == 0.5);
    CHECK(line["eval/red-team/cost_mean"].get<double>() == Approx((-0.5 + long_cost - 0.5) / 3));
    CHECK(line.contains("eval/eval/reward_mean"));
  }
  std::ifstream eval_file(run_dir + "/eval.jsonl");
  std::string first_line, second_line;
  CHECK(std::getline(eval_file, first_line));
  CHECK(std::getline(eval_file, second_line));
  CHECK(nlohmann::json::parse(second_line) == lines[1]);
}

TEST_CASE("safety: shaping against a reward service without a cost model fails the run clearly") {
  Cluster cluster;
  auto dataset = Dataset(Tok());
  RunState run(2, 1, Initial());
  prometheus::Registry metrics;
  RunLoopOptions options = Options();
  options.safety.mode = config::SafetyMode::kPenalty;
  RunLoop loop(options, cluster.Context(), {dataset.get()}, run, metrics);
  absl::Status status = loop.Run();
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(status.message()), Catch::Contains("model.cost_model"));
  CHECK(run.Snapshot().state() == rein::v1::RUN_STATE_FAILED);
}

TEST_CASE("sft mode trains on data.train examples, split over the learner ranks") {
  std::string dir = testing::MakeTempDir("rein-loop-sft-");
  std::ofstream(dir + "/sft.jsonl") << "{\"prompt\": \"a\", \"response\": \" b\"}\n"
                                    << "{\"prompt\": \"c\", \"response\": \" d\"}\n";
  data::TrainingDataOptions data_options;
  data_options.format = data::PromptFormat::kText;
  auto sft = data::LoadSftDataset(dir + "/sft.jsonl", Tok(), data_options);
  REQUIRE(sft.ok());
  Cluster cluster;
  RunState run(3, 1, Initial());
  prometheus::Registry metrics;
  RunLoopOptions options = Options();
  options.mode = config::LearnerMode::kSft;
  options.train_batch_size = 4;
  options.expected_workers = {{rein::v1::ROLE_LEARNER, 2}};
  RunData data;
  data.sft = sft->get();
  RunLoop loop(options, cluster.Context(), data, run, metrics);
  REQUIRE(loop.Run().ok());
  CHECK(cluster.learner0.service.trained_examples == 6);
  CHECK(cluster.learner1.service.trained_examples == 6);
  CHECK(cluster.learner0.service.pushes.empty());
  CHECK(cluster.rollout0.service.calls == 0);
}

}  // namespace
}  // namespace rein::coordinator
