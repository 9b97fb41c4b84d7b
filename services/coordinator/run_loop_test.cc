#include "services/coordinator/run_loop.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <fstream>
#include <set>
#include <thread>

#include "common/testing/data_paths.h"
#include "common/testing/subprocess.h"
#include "services/coordinator/fake_workers.h"

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
  RunLoop loop(Options(), cluster.Context(), *dataset, run, metrics);
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
  RunLoop loop(Options(), cluster.Context(), *dataset, run, metrics);
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
  RunLoop loop(Options(), cluster.Context(), *dataset, run, metrics);
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
  RunLoop loop(options, StageContext{&registry, &clients, absl::Seconds(5)}, *dataset, run,
               metrics);
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
    RunLoop loop(Options(), cluster.Context(), *dataset, run, metrics);
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
