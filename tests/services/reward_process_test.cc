// rein-reward as a real process: reward model plus rule rewards, validation, Reload (confined to
// the configured folders and --model_root), and the startup check that something scores.
#include <ATen/ops/tensor.h>
#include <signal.h>

#include <cmath>
#include <filesystem>

#include "common/model/causal_lm.h"
#include "common/model/scoring.h"
#include "common/tokenizer/tokenizer.h"
#include "rein/v1/reward.grpc.pb.h"
#include "tests/services/worker_process.h"

namespace rein::reward {
namespace {

using testing::SourcePath;

// tiny-llama's trunk with a fresh scalar head, saved as a reward model folder.
std::string MakeRewardModelDir(uint64_t seed) {
  auto trunk = model::CausalLM::Load(SourcePath("tests/data/models/tiny-llama"),
                                     {.heads = model::Heads::kNone});
  REQUIRE(trunk.ok());
  REQUIRE((*trunk)->AddScalarHead(seed).ok());
  const std::string dir = testing::MakeTempDir("rein-reward-model-") + "/rm";
  REQUIRE((*trunk)->Save(dir).ok());
  return dir;
}

float ScalarOf(const std::string& dir, std::vector<int64_t> ids) {
  auto rm = model::CausalLM::Load(dir, {.heads = model::Heads::kScalar});
  REQUIRE(rm.ok());
  const int64_t n = static_cast<int64_t>(ids.size());
  auto scores = model::ScoreScalar(**rm, {.input_ids = at::tensor(ids, at::kLong).view({1, n})});
  REQUIRE(scores.ok());
  return scores->per_sequence[0].item<float>();
}

TEST_CASE("rein-reward scores with its reward model and rules, validates, and reloads") {
  const std::string rm_dir = MakeRewardModelDir(3);
  const std::string config = testing::WriteConfig(
      "model:\n  policy: " + SourcePath("tests/data/models/tiny-llama") + "\n  reward_model: " +
      rm_dir + "\n  tokenizer: " + SourcePath("tests/data/tokenizer/tiny_gpt2") +
      "\nreward:\n  model_weight: 2.0\n  rules:\n    length_penalty:\n      weight: 0.5\n"
      "      target_tokens: 4\n    regex:\n      weight: 1.0\n      pattern: \"lo w\"\n");
  // Reload may load from the configured folder and from under --model_root only.
  const std::string root = testing::MakeTempDir("rein-reward-root-");
  testing::WorkerProcess worker =
      testing::StartWorker("rein-reward", config, "rein.v1.Reward", {"--model_root=" + root});
  auto stub = rein::v1::Reward::NewStub(worker.channel);
  auto score = [&](const rein::v1::ScoreRequest& request, rein::v1::ScoreResponse* response) {
    auto context = rpc::NewCallContext(worker.client);
    return stub->Score(context.get(), request, response);
  };

  auto tokenizer = tokenizer::Tokenizer::FromDirectory(SourcePath("tests/data/tokenizer/tiny_gpt2"));
  REQUIRE(tokenizer.ok());
  auto hello = (*tokenizer)->Encode("hello world");
  REQUIRE(hello.ok());
  rein::v1::ScoreRequest request;
  rein::v1::TokenSequence* s = request.add_sequences();
  s->set_sequence_id(77);
  s->add_prompt_ids(5);
  s->add_prompt_ids(6);
  s->mutable_response_ids()->Add(hello->begin(), hello->end());
  rein::v1::ScoreResponse response;
  REQUIRE(score(request, &response).ok());
  REQUIRE(response.rewards_size() == 1);
  const rein::v1::SequenceReward& r = response.rewards(0);
  CHECK(r.sequence_id() == 77);
  std::vector<int64_t> ids = {5, 6};
  ids.insert(ids.end(), hello->begin(), hello->end());
  const float model_score = ScalarOf(rm_dir, ids);
  const double penalty = -std::abs(static_cast<double>(hello->size()) - 4.0) / 4.0;
  CHECK(r.components().at("reward_model") == Approx(model_score).epsilon(1e-5));
  CHECK(r.components().at("length_penalty") == static_cast<float>(penalty));
  CHECK(r.components().at("regex") == 1.0f);
  CHECK(r.reward() == Approx(2.0 * model_score + 0.5 * penalty + 1.0).epsilon(1e-5));

  // Malformed requests are refused with a reason; the service keeps serving.
  rein::v1::ScoreRequest bad = request;
  bad.mutable_sequences(0)->clear_response_ids();
  CHECK(score(bad, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  bad = request;
  bad.mutable_sequences(0)->set_prompt_ids(0, 1000);
  grpc::Status status = score(bad, &response);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("sequence_id 77") != std::string::npos);
  CHECK(score(rein::v1::ScoreRequest(), &response).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(score(request, &response).ok());

  // Reload: another model has another fingerprint; the configured one comes back.
  auto reload = [&](const std::string& dir, rein::v1::ReloadResponse* reply) {
    auto context = rpc::NewCallContext(worker.client);
    rein::v1::ReloadRequest reload_request;
    reload_request.set_model_dir(dir);
    return stub->Reload(context.get(), reload_request, reply);
  };
  rein::v1::ReloadResponse configured, other, back;
  REQUIRE(reload("", &configured).ok());
  const std::string elsewhere = MakeRewardModelDir(4);
  CHECK(reload(elsewhere, &other).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(reload(root + "/../" + std::filesystem::path(elsewhere).parent_path().filename().string() +
                   "/rm",
               &other)
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);
  std::filesystem::rename(elsewhere, root + "/rm");
  REQUIRE(reload(root + "/rm", &other).ok());
  CHECK(configured.model_fingerprint().size() == 16);
  CHECK(other.model_fingerprint() != configured.model_fingerprint());
  REQUIRE(reload("", &back).ok());
  CHECK(back.model_fingerprint() == configured.model_fingerprint());

  CHECK(worker.Metric("rein_reward_scored_sequences_total").value_or(0) >= 2);
  testing::StopWorker(worker);
}

TEST_CASE("rein-reward refuses to start with no reward model and no weighted rule") {
  const std::string config = testing::WriteConfig(
      "model:\n  policy: " + SourcePath("tests/data/models/tiny-llama") +
      "\n  tokenizer: " + SourcePath("tests/data/tokenizer/tiny_gpt2") + "\n");
  auto result = testing::RunCommand({testing::BuiltBinary("rein-reward"), "--config=" + config,
                                     "--port=0"},
                                    "", absl::Seconds(60));
  REQUIRE(result.ok());
  CHECK(result->exit_code != 0);
  CHECK(result->stderr_text.find("no reward model") != std::string::npos);
}

}  // namespace
}  // namespace rein::reward
