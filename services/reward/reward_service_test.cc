#include "services/reward/reward_service.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>
#include <prometheus/registry.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

#include "common/model/scoring.h"
#include "common/rpc/client.h"
#include "common/rpc/server.h"
#include "common/testing/path_trap.h"
#include "common/testing/subprocess.h"

namespace rein::reward {
namespace {

std::string TempBase() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

// A reward model folder: tiny-llama's trunk with a fresh scalar head drawn from `seed`.
std::string MakeRewardModelDir(uint64_t seed) {
  auto trunk = model::CausalLM::Load(testing::SourcePath("tests/data/models/tiny-llama"),
                                     {.heads = model::Heads::kNone});
  REQUIRE(trunk.ok());
  REQUIRE((*trunk)->AddScalarHead(seed).ok());
  const std::string dir = testing::MakeTempDir("rein-reward-model-") + "/rm";
  REQUIRE((*trunk)->Save(dir).ok());
  return dir;
}

absl::StatusOr<std::unique_ptr<RewardModel>> LoadRewardModel(const std::string& dir) {
  auto lm = model::CausalLM::Load(dir, {.heads = model::Heads::kScalar});
  if (!lm.ok()) return lm.status();
  return RewardModel::Create(*std::move(lm));
}

std::unique_ptr<tokenizer::Tokenizer> TinyTokenizer() {
  auto tokenizer =
      tokenizer::Tokenizer::FromDirectory(testing::SourcePath("tests/data/tokenizer/tiny_gpt2"));
  REQUIRE(tokenizer.ok());
  return *std::move(tokenizer);
}

struct RewardServer {
  prometheus::Registry registry;
  std::unique_ptr<RewardService> service;
  std::unique_ptr<rpc::Server> server;
  std::unique_ptr<rein::v1::Reward::Stub> stub;
  rpc::ClientOptions client;

  // Reload may load from anywhere testing::MakeTempDir makes folders unless the test says
  // otherwise.
  explicit RewardServer(RewardServiceOptions options) {
    if (options.model_roots.empty()) options.model_roots = {TempBase()};
    auto created = RewardService::Create(options, TinyTokenizer(), registry);
    REQUIRE(created.ok());
    service = *std::move(created);
    auto started = rpc::Server::Create({}, {rpc::Bind<rein::v1::Reward>(service.get())}, registry);
    REQUIRE(started.ok());
    server = *std::move(started);
    stub = rein::v1::Reward::NewStub(*rpc::CreateChannel(server->address(), client));
  }

  grpc::Status Score(const rein::v1::ScoreRequest& request, rein::v1::ScoreResponse* response) {
    auto context = rpc::NewCallContext(client);
    return stub->Score(context.get(), request, response);
  }
  grpc::Status Reload(const std::string& dir, rein::v1::ReloadResponse* response,
                      uint64_t version = 0) {
    auto context = rpc::NewCallContext(client);
    rein::v1::ReloadRequest request;
    request.set_model_dir(dir);
    request.set_version(version);
    return stub->Reload(context.get(), request, response);
  }
};

rein::v1::TokenSequence Sequence(uint64_t id, const std::vector<int32_t>& prompt,
                                 const std::vector<int32_t>& response) {
  rein::v1::TokenSequence s;
  s.set_sequence_id(id);
  s.mutable_prompt_ids()->Add(prompt.begin(), prompt.end());
  s.mutable_response_ids()->Add(response.begin(), response.end());
  return s;
}

// Prompt then response: what a scorer reads.
std::vector<int64_t> FullIds(const rein::v1::TokenSequence& s) {
  std::vector<int64_t> ids(s.prompt_ids().begin(), s.prompt_ids().end());
  ids.insert(ids.end(), s.response_ids().begin(), s.response_ids().end());
  return ids;
}

std::vector<int32_t> Encode(const std::string& text) {
  auto ids = TinyTokenizer()->Encode(text);
  REQUIRE(ids.ok());
  return *ids;
}

TEST_CASE("rule rewards alone have their exact values, unweighted in components") {
  RewardServiceOptions options;
  options.length_penalty_weight = 0.5;
  options.length_penalty_target_tokens = 4;
  options.regex_weight = 2.0;
  options.regex_pattern = "world";
  RewardServer server(options);
  const std::vector<int32_t> match = Encode("hello world, hello");
  const std::vector<int32_t> miss = Encode("hello");
  rein::v1::ScoreRequest request;
  *request.add_sequences() = Sequence(11, {1, 2}, match);
  *request.add_sequences() = Sequence(12, {1, 2}, miss);
  rein::v1::ScoreResponse response;
  REQUIRE(server.Score(request, &response).ok());
  REQUIRE(response.rewards_size() == 2);

  const rein::v1::SequenceReward& a = response.rewards(0);
  const double a_penalty = -std::abs(static_cast<double>(match.size()) - 4.0) / 4.0;
  CHECK(a.sequence_id() == 11);
  CHECK(a.components().at("length_penalty") == static_cast<float>(a_penalty));
  CHECK(a.components().at("regex") == 1.0f);
  CHECK(a.components().count("reward_model") == 0);
  CHECK(a.reward() == static_cast<float>(0.5 * a_penalty + 2.0));

  const rein::v1::SequenceReward& b = response.rewards(1);
  const double b_penalty = -std::abs(static_cast<double>(miss.size()) - 4.0) / 4.0;
  CHECK(b.sequence_id() == 12);
  CHECK(b.components().at("regex") == 0.0f);
  CHECK(b.reward() == static_cast<float>(0.5 * b_penalty));
}

TEST_CASE("ids past the tokenizer's vocabulary (a padded embedding) have no text for the regex") {
  RewardServiceOptions options;
  options.regex_weight = 1.0;
  options.regex_pattern = "world";
  const int32_t tokenizer_size = TinyTokenizer()->vocab_size();
  options.vocab_size = tokenizer_size + 8;  // as a policy with a padded embedding
  RewardServer server(options);
  std::vector<int32_t> response_ids = Encode("hello");
  response_ids.push_back(tokenizer_size + 3);
  for (int32_t id : Encode(" world")) response_ids.push_back(id);
  rein::v1::ScoreRequest request;
  *request.add_sequences() = Sequence(7, {1, 2}, response_ids);
  rein::v1::ScoreResponse response;
  REQUIRE(server.Score(request, &response).ok());
  CHECK(response.rewards(0).components().at("regex") == 1.0f);
}

TEST_CASE("the reward model's score is weighted and reported unweighted") {
  const std::string dir = MakeRewardModelDir(5);
  RewardServiceOptions options;
  options.model_weight = 0.5;
  options.model_dir = dir;
  options.loader = LoadRewardModel;
  RewardServer server(options);
  rein::v1::ScoreRequest request;
  *request.add_sequences() = Sequence(1, {1, 5, 9}, {20, 21});
  *request.add_sequences() = Sequence(2, {3}, {4, 5, 6, 7, 8});
  rein::v1::ScoreResponse response;
  REQUIRE(server.Score(request, &response).ok());

  auto rm = LoadRewardModel(dir);
  REQUIRE(rm.ok());
  for (int i = 0; i < 2; ++i) {
    const std::vector<int64_t> ids = FullIds(request.sequences(i));
    auto scores = model::ScoreScalar(
        (*rm)->model(),
        {.input_ids = at::tensor(ids, at::kLong).view({1, static_cast<int64_t>(ids.size())})});
    REQUIRE(scores.ok());
    const float expected = scores->per_sequence[0].item<float>();
    CHECK(response.rewards(i).components().at("reward_model") == Approx(expected).epsilon(1e-5));
    CHECK(response.rewards(i).reward() == Approx(0.5 * expected).epsilon(1e-5));
  }
}

TEST_CASE("a cost model's score is each response's cost, kept out of the reward") {
  const std::string reward_dir = MakeRewardModelDir(5);
  const std::string cost_dir = MakeRewardModelDir(9);
  RewardServiceOptions options;
  options.model_dir = reward_dir;
  options.cost_model_dir = cost_dir;
  options.loader = LoadRewardModel;
  RewardServer server(options);
  rein::v1::ScoreRequest request;
  *request.add_sequences() = Sequence(1, {1, 5, 9}, {20, 21});
  *request.add_sequences() = Sequence(2, {3}, {4, 5, 6, 7, 8});
  rein::v1::ScoreResponse response;
  REQUIRE(server.Score(request, &response).ok());
  auto reward_model = LoadRewardModel(reward_dir);
  auto cost_model = LoadRewardModel(cost_dir);
  REQUIRE(reward_model.ok());
  REQUIRE(cost_model.ok());
  double cost_sum = 0;
  for (int i = 0; i < 2; ++i) {
    const std::vector<int64_t> ids = FullIds(request.sequences(i));
    const model::TokenBatch inputs{
        .input_ids = at::tensor(ids, at::kLong).view({1, static_cast<int64_t>(ids.size())})};
    auto reward = model::ScoreScalar((*reward_model)->model(), inputs);
    auto cost = model::ScoreScalar((*cost_model)->model(), inputs);
    REQUIRE(reward.ok());
    REQUIRE(cost.ok());
    REQUIRE(response.rewards(i).has_cost());
    CHECK(response.rewards(i).cost() == Approx(cost->per_sequence[0].item<float>()).epsilon(1e-5));
    CHECK(response.rewards(i).reward() ==
          Approx(reward->per_sequence[0].item<float>()).epsilon(1e-5));  // no cost in it
    cost_sum += response.rewards(i).cost();
  }
  CHECK(response.stats().values().at("cost/mean") == Approx(cost_sum / 2).epsilon(1e-5));
  // Without a cost model there is no cost.
  RewardServiceOptions plain = options;
  plain.cost_model_dir.clear();
  RewardServer without(plain);
  REQUIRE(without.Score(request, &response).ok());
  CHECK_FALSE(response.rewards(0).has_cost());
  CHECK(response.stats().values().count("cost/mean") == 0);
}

TEST_CASE("malformed Score requests are INVALID_ARGUMENT, and serving goes on") {
  RewardServiceOptions options;
  options.model_dir = MakeRewardModelDir(5);
  options.loader = LoadRewardModel;
  RewardServer server(options);
  struct Case {
    std::string what;
    rein::v1::ScoreRequest request;
    std::string expected;
  };
  std::vector<Case> cases(4);
  cases[0] = {"no sequences", {}, "sequences: none given"};
  cases[1].what = "empty response";
  *cases[1].request.add_sequences() = Sequence(7, {1}, {});
  cases[1].expected = "sequences[0] (sequence_id 7): response_ids is empty";
  cases[2].what = "id past the vocabulary";
  *cases[2].request.add_sequences() = Sequence(1, {1}, {2});
  *cases[2].request.add_sequences() = Sequence(8, {1}, {2, 1000});
  cases[2].expected = "sequences[1] (sequence_id 8): response_ids[1] = 1000";
  cases[3].what = "too long";
  *cases[3].request.add_sequences() = Sequence(9, std::vector<int32_t>(100, 3),
                                               std::vector<int32_t>(29, 4));
  cases[3].expected = "exceed the limit of 128";
  for (const Case& c : cases) {
    INFO(c.what);
    rein::v1::ScoreResponse response;
    grpc::Status status = server.Score(c.request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().find(c.expected) != std::string::npos);
  }
  rein::v1::ScoreRequest good;
  *good.add_sequences() = Sequence(1, {1}, {2, 3});
  rein::v1::ScoreResponse response;
  CHECK(server.Score(good, &response).ok());
}

TEST_CASE("a NaN or infinite reward fails the call with INTERNAL naming the sequence") {
  RewardServiceOptions options;
  options.model_dir = MakeRewardModelDir(5);
  SECTION("from the reward model") {
    // A reward model whose head is NaN: the scalar at every token is NaN.
    options.loader = [](const std::string& dir) -> absl::StatusOr<std::unique_ptr<RewardModel>> {
      auto lm = model::CausalLM::Load(dir, {.heads = model::Heads::kScalar});
      if (!lm.ok()) return lm.status();
      at::NoGradGuard no_grad;
      for (auto& [name, tensor] : (*lm)->NamedParameters()) {
        if (name == "score.weight") tensor.fill_(std::numeric_limits<float>::quiet_NaN());
      }
      return RewardModel::Create(*std::move(lm));
    };
  }
  SECTION("from an infinite rule weight") {
    options.loader = LoadRewardModel;
    options.length_penalty_weight = std::numeric_limits<double>::infinity();
    options.length_penalty_target_tokens = 1;
  }
  RewardServer server(options);
  rein::v1::ScoreRequest request;
  *request.add_sequences() = Sequence(41, {1}, {2, 3});
  *request.add_sequences() = Sequence(42, {1}, {2, 3});
  rein::v1::ScoreResponse response;
  grpc::Status status = server.Score(request, &response);
  CHECK(status.error_code() == grpc::StatusCode::INTERNAL);
  CHECK(status.error_message().find("sequence_id 41") != std::string::npos);
}

TEST_CASE("Reload swaps the reward model and returns its content fingerprint") {
  const std::string first = MakeRewardModelDir(5);
  const std::string second = MakeRewardModelDir(6);
  const std::string copy = MakeRewardModelDir(5);
  RewardServiceOptions options;
  options.model_dir = first;
  options.loader = LoadRewardModel;
  RewardServer server(options);
  const std::string initial = server.service->model_fingerprint();
  CHECK(initial.size() == 16);

  rein::v1::ReloadResponse reloaded;
  REQUIRE(server.Reload(second, &reloaded).ok());
  CHECK(reloaded.model_fingerprint() != initial);
  CHECK(server.service->model_fingerprint() == reloaded.model_fingerprint());
  REQUIRE(server.Reload(copy, &reloaded).ok());
  CHECK(reloaded.model_fingerprint() == initial);  // Same weights, another folder.

  grpc::Status missing = server.Reload("/nonexistent/model", &reloaded);
  CHECK_FALSE(missing.ok());
  CHECK(missing.error_message().find("/nonexistent/model") != std::string::npos);
  CHECK(server.service->model_fingerprint() == initial);
  REQUIRE(server.Reload("", &reloaded).ok());  // The configured folder.
  CHECK(reloaded.model_fingerprint() == initial);
}

TEST_CASE("Reload loads only the configured folders and the model roots, unless admin") {
  namespace fs = std::filesystem;
  testing::PathTrap t;
  const fs::path& run = t.run;
  fs::create_directories(run / "rounds/round-1/reward-learner");
  fs::rename(MakeRewardModelDir(6), run / "rounds/round-1/reward-learner/policy");
  fs::rename(MakeRewardModelDir(7), t.outside / "rm");
  const std::string configured = MakeRewardModelDir(5);  // outside the roots, named by config

  for (const bool admin : {false, true}) {
    RewardServiceOptions options;
    options.model_dir = configured;
    options.loader = LoadRewardModel;
    options.model_roots = {run.string()};
    options.is_admin = [admin](const grpc::ServerContext&) { return admin; };
    RewardServer server(options);
    const std::string initial = server.service->model_fingerprint();
    rein::v1::ReloadResponse reloaded;
    for (const std::string& dir : {(t.outside / "rm").string(), std::string("../outside/rm"),
                                   std::string("escape/rm"), std::string("/etc")}) {
      INFO(dir << (admin ? " as admin" : ""));
      const grpc::Status status = server.Reload(dir, &reloaded);
      if (admin && dir != "/etc") {
        CHECK(status.ok());
      } else if (admin) {
        CHECK_FALSE(status.ok());  // let through, but no model there
        CHECK(status.error_code() != grpc::StatusCode::PERMISSION_DENIED);
      } else {
        CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        CHECK_THAT(status.error_message(), Catch::StartsWith("model_dir"));
        CHECK(server.service->model_fingerprint() == initial);
      }
    }
    CHECK(server.Reload("fifo", &reloaded).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    // A round's model under the run folder (relative to it, too), and the configured one.
    REQUIRE(server.Reload("rounds/round-1/reward-learner/policy", &reloaded).ok());
    REQUIRE(server.Reload((run / "rounds/round-1/reward-learner/policy").string(), &reloaded).ok());
    REQUIRE(server.Reload(configured, &reloaded).ok());
    CHECK(reloaded.model_fingerprint() == initial);
  }
  CHECK(t.OutsideEntries() == std::set<std::string>{"canary.txt", "rm"});
  CHECK(t.Intact());
}

TEST_CASE("Reload numbers the models it loads, and every Score reply names its model") {
  RewardServiceOptions options;
  options.model_dir = MakeRewardModelDir(5);
  options.loader = LoadRewardModel;
  RewardServer server(options);
  rein::v1::ScoreRequest request;
  *request.add_sequences() = Sequence(1, {1, 2}, {3, 4});
  rein::v1::ScoreResponse scored;
  REQUIRE(server.Score(request, &scored).ok());
  CHECK(scored.reward_model_version() == 0);
  CHECK(scored.reward_model_fingerprint() == server.service->model_fingerprint());

  rein::v1::ReloadResponse reloaded;
  REQUIRE(server.Reload(MakeRewardModelDir(6), &reloaded).ok());
  CHECK(reloaded.version() == 1);  // 0 asks for the next one
  REQUIRE(server.Reload(MakeRewardModelDir(7), &reloaded, /*version=*/7).ok());
  CHECK(reloaded.version() == 7);
  REQUIRE(server.Score(request, &scored).ok());
  CHECK(scored.reward_model_version() == 7);
  CHECK(scored.reward_model_fingerprint() == reloaded.model_fingerprint());
  // A failed load changes neither the model nor its version.
  CHECK_FALSE(server.Reload("/nonexistent/model", &reloaded, 8).ok());
  REQUIRE(server.Score(request, &scored).ok());
  CHECK(scored.reward_model_version() == 7);
}

// Score calls run on four threads while the model is swapped back and forth: every reply must
// come whole from one model, the one its version names (a half-loaded model would give another
// reward, or a version that does not match the weights).
TEST_CASE("no Score call sees a half-loaded model while Reload swaps models under load") {
  const std::string dirs[2] = {MakeRewardModelDir(11), MakeRewardModelDir(12)};
  RewardServiceOptions options;
  options.model_dir = dirs[0];
  options.loader = LoadRewardModel;
  RewardServer server(options);
  rein::v1::ScoreRequest request;
  for (uint64_t i = 0; i < 8; ++i) *request.add_sequences() = Sequence(i, {1, 2}, {3, 4, 5, 6});
  // The rewards and fingerprint of each model, measured alone.
  std::map<std::string, std::vector<float>> expected;
  std::vector<std::string> fingerprint_of_version(21);
  for (int round = 0; round < 2; ++round) {
    rein::v1::ReloadResponse reloaded;
    REQUIRE(server.Reload(dirs[round], &reloaded, 100 + round).ok());
    rein::v1::ScoreResponse scored;
    REQUIRE(server.Score(request, &scored).ok());
    for (const auto& r : scored.rewards()) {
      expected[reloaded.model_fingerprint()].push_back(r.reward());
    }
  }
  REQUIRE(expected.size() == 2);
  CHECK(std::abs(expected.begin()->second[0] - expected.rbegin()->second[0]) > 1e-2f);

  std::atomic<bool> done{false};
  std::atomic<int> replies{0}, wrong{0};
  absl::Mutex seen_mu;
  std::map<uint64_t, std::string> seen;  // version -> fingerprint, as the replies say
  std::vector<std::thread> scorers;
  for (int t = 0; t < 4; ++t) {
    scorers.emplace_back([&] {
      while (!done.load()) {
        rein::v1::ScoreResponse scored;
        if (!server.Score(request, &scored).ok()) {
          ++wrong;
          continue;
        }
        ++replies;
        auto it = expected.find(scored.reward_model_fingerprint());
        bool whole = it != expected.end() && scored.rewards_size() == 8;
        // Each model's rewards, to within float noise of batched matmuls (the two models differ by
        // far more).
        for (int i = 0; whole && i < 8; ++i) {
          whole = std::abs(scored.rewards(i).reward() - it->second[i]) < 1e-4f;
        }
        if (!whole) ++wrong;
        absl::MutexLock lock(&seen_mu);
        auto [entry, added] =
            seen.emplace(scored.reward_model_version(), scored.reward_model_fingerprint());
        if (!added && entry->second != scored.reward_model_fingerprint()) ++wrong;
      }
    });
  }
  for (uint64_t version = 1; version <= 20; ++version) {
    rein::v1::ReloadResponse reloaded;
    REQUIRE(server.Reload(dirs[version % 2], &reloaded, version).ok());
    fingerprint_of_version[version] = reloaded.model_fingerprint();
  }
  done = true;
  for (std::thread& t : scorers) t.join();
  CHECK(wrong.load() == 0);
  CHECK(replies.load() > 0);
  for (const auto& [version, fingerprint] : seen) {
    if (version >= 1 && version <= 20) CHECK(fingerprint == fingerprint_of_version[version]);
  }
}

TEST_CASE("a Score call over the replica's sequence limit is refused before any work") {
  RewardServiceOptions options;
  options.model_dir = MakeRewardModelDir(5);
  options.loader = LoadRewardModel;
  options.max_sequences_per_call = 2;
  RewardServer server(options);
  rein::v1::ScoreRequest request;
  for (uint64_t i = 0; i < 3; ++i) *request.add_sequences() = Sequence(i, {1, 2}, {3});
  rein::v1::ScoreResponse scored;
  grpc::Status refused = server.Score(request, &scored);
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(refused.error_message().find("this replica takes at most 2") != std::string::npos);
  request.mutable_sequences()->RemoveLast();
  CHECK(server.Score(request, &scored).ok());
}

TEST_CASE("Reload with cost_model swaps the cost model and numbers it apart") {
  RewardServiceOptions options;
  options.model_dir = MakeRewardModelDir(5);
  options.loader = LoadRewardModel;
  RewardServer server(options);
  rein::v1::ScoreRequest request;
  *request.add_sequences() = Sequence(1, {1, 2}, {3, 4});
  rein::v1::ScoreResponse before;
  REQUIRE(server.Score(request, &before).ok());
  CHECK_FALSE(before.rewards(0).has_cost());  // no cost model yet
  auto context = rpc::NewCallContext(server.client);
  rein::v1::ReloadRequest reload;
  reload.set_model_dir(MakeRewardModelDir(9));
  reload.set_version(3);
  reload.set_cost_model(true);
  rein::v1::ReloadResponse reloaded;
  REQUIRE(server.stub->Reload(context.get(), reload, &reloaded).ok());
  CHECK(reloaded.version() == 3);
  rein::v1::ScoreResponse after;
  REQUIRE(server.Score(request, &after).ok());
  REQUIRE(after.rewards(0).has_cost());
  CHECK(after.cost_model_version() == 3);
  CHECK(after.reward_model_version() == 0);  // the reward model is untouched
  CHECK(after.rewards(0).reward() == before.rewards(0).reward());
}

TEST_CASE("a replica for rounds starts without a model and scores once the first one loads") {
  RewardServiceOptions options;
  options.await_reload = true;
  options.loader = LoadRewardModel;
  RewardServer server(options);
  rein::v1::ScoreRequest request;
  *request.add_sequences() = Sequence(1, {1, 2}, {3, 4});
  rein::v1::ScoreResponse scored;
  grpc::Status early = server.Score(request, &scored);
  CHECK(early.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(early.error_message().find("no reward model loaded yet") != std::string::npos);
  rein::v1::ReloadResponse reloaded;
  REQUIRE(server.Reload(MakeRewardModelDir(5), &reloaded, 1).ok());
  REQUIRE(server.Score(request, &scored).ok());
  CHECK(scored.reward_model_version() == 1);
}

TEST_CASE("without a reward model some rule must have a weight") {
  prometheus::Registry registry;
  RewardServiceOptions options;
  auto created = RewardService::Create(options, TinyTokenizer(), registry);
  CHECK(created.status().code() == absl::StatusCode::kInvalidArgument);
  options.regex_weight = 1;
  options.regex_pattern = "(";
  CHECK(RewardService::Create(options, TinyTokenizer(), registry).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::reward
