// rein-reward under a hostile client: malformed and oversized Score calls, and Reloads of
// hostile folders and versions; the process stays up with bounded memory and still scores.
#include <filesystem>
#include <limits>

#include "rein/v1/reward.grpc.pb.h"
#include "tests/hostile/hostile_client.h"
#include "tests/hostile/token_sequences.h"

namespace rein::testing {
namespace {

using grpc::StatusCode;

TEST_CASE("hostile client: rein-reward refuses bad calls at the edge and keeps serving") {
  const std::string dir = MakeTempDir("rein-hostile-reward-");
  // A folder whose config.json describes a model of 10^14 parameters.
  std::filesystem::create_directories(dir + "/huge");
  std::ofstream(dir + "/huge/config.json")
      << "{\"model_type\": \"llama\", \"vocab_size\": 1000000000, \"hidden_size\": 100000, "
         "\"num_hidden_layers\": 80, \"num_attention_heads\": 100, \"intermediate_size\": 1, "
         "\"architectures\": [\"LlamaForSequenceClassification\"]}";
  // Rule rewards only: the reward service needs no model to score.
  std::ofstream(dir + "/run.yaml")
      << HostileServerYaml()
      << "model:\n  tokenizer: " << SourcePath("tests/data/tokenizer/tiny_gpt2")
      << "\nreward:\n  capacity: 4\n  model_weight: 0\n  rules:\n    length_penalty:\n"
         "      weight: 1.0\n      target_tokens: 4\n";
  HostileTarget target = StartHostileTarget("rein-reward", {"--config=" + dir + "/run.yaml"});
  auto stub = rein::v1::Reward::NewStub(target.channel);
  const auto score = [&](const rein::v1::ScoreRequest& request) {
    rein::v1::ScoreResponse response;
    return stub->Score(target.Context().get(), request, &response);
  };
  const auto reload = [&](const rein::v1::ReloadRequest& request) {
    rein::v1::ReloadResponse response;
    return stub->Reload(target.Context().get(), request, &response);
  };
  rein::v1::ScoreRequest valid;
  AddValidSequence(*valid.mutable_sequences());
  REQUIRE(score(valid).ok());
  target.RecordBaseline();

  std::vector<BadCall> calls;
  for (const auto& [what, code, edit] : BadSequenceEdits()) {
    // Rule rewards alone have no context length to exceed.
    if (what == "longer than the context") continue;
    rein::v1::ScoreRequest request = valid;
    edit(*request.mutable_sequences());
    calls.push_back({what, {code}, [&, request] { return score(request); }});
  }
  for (const std::string& bad : HostileStrings()) {
    rein::v1::ReloadRequest request;
    request.set_model_dir(bad);
    calls.push_back({"model_dir " + QuotedForTest(bad),
                     {StatusCode::INVALID_ARGUMENT},
                     [&, request] { return reload(request); }});
  }
  {
    rein::v1::ReloadRequest request;
    request.set_model_dir(dir + "/huge");
    // PERMISSION_DENIED where reloads are confined to the run's folders.
    calls.push_back({"model_dir of 10^14 parameters",
                     {StatusCode::RESOURCE_EXHAUSTED, StatusCode::PERMISSION_DENIED},
                     [&, request] { return reload(request); }});
    request.set_model_dir(dir + "/absent");
    calls.push_back({"model_dir that does not exist",
                     {StatusCode::NOT_FOUND, StatusCode::PERMISSION_DENIED},
                     [&, request] { return reload(request); }});
    request.set_model_dir(SourcePath("tests/data/models/tiny-llama"));
    request.set_version(std::numeric_limits<uint64_t>::max());
    calls.push_back({"version 2^64 - 1", {StatusCode::INVALID_ARGUMENT}, [&, request] {
                       return reload(request);
                     }});
  }
  {
    rein::v1::ReloadRequest request;
    request.set_cost_model(true);
    calls.push_back({"cost model reload without a configured one",
                     {StatusCode::FAILED_PRECONDITION},
                     [&, request] { return reload(request); }});
  }
  ExpectRefused(calls);
  ExpectRefusedConcurrently(calls);
  target.ExpectServing("rein.v1.Reward");

  rein::v1::ScoreResponse response;
  REQUIRE(stub->Score(target.Context().get(), valid, &response).ok());
  REQUIRE(response.rewards_size() == 1);
  CHECK(response.rewards(0).sequence_id() == 1);
  CHECK(response.reward_model_version() == 0);
  target.ExpectMemoryBounded();
  target.Stop();
}

}  // namespace
}  // namespace rein::testing
