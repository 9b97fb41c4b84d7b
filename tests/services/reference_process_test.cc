// rein-reference as a real process: teacher-forced log-probs equal to in-process scoring, and
// malformed requests refused while the service keeps serving.
#include <ATen/ops/tensor.h>
#include <signal.h>

#include "common/model/causal_lm.h"
#include "common/model/scoring.h"
#include "rein/v1/reference.grpc.pb.h"
#include "tests/services/worker_process.h"

namespace rein::reference {
namespace {

using testing::SourcePath;

TEST_CASE("rein-reference serves the reference model's log-probs of responses") {
  // model.reference is left empty: the policy folder is the reference.
  const std::string config = testing::WriteConfig(
      "model:\n  policy: " + SourcePath("tests/data/models/tiny-qwen2") +
      "\n  tokenizer: " + SourcePath("tests/data/tokenizer/tiny_gpt2") + "\n");
  testing::WorkerProcess worker =
      testing::StartWorker("rein-reference", config, "rein.v1.Reference");
  auto stub = rein::v1::Reference::NewStub(worker.channel);
  auto logprobs = [&](const rein::v1::LogProbsRequest& request,
                      rein::v1::LogProbsResponse* response) {
    auto context = rpc::NewCallContext(worker.client);
    return stub->LogProbs(context.get(), request, response);
  };

  rein::v1::LogProbsRequest request;
  const std::vector<std::vector<int32_t>> prompts = {{3, 4, 5}, {9}};
  const std::vector<std::vector<int32_t>> responses = {{6, 7, 8, 9, 10}, {11, 12}};
  for (size_t i = 0; i < prompts.size(); ++i) {
    rein::v1::TokenSequence* s = request.add_sequences();
    s->set_sequence_id(100 + i);
    s->mutable_prompt_ids()->Add(prompts[i].begin(), prompts[i].end());
    s->mutable_response_ids()->Add(responses[i].begin(), responses[i].end());
  }
  rein::v1::LogProbsResponse response;
  REQUIRE(logprobs(request, &response).ok());
  REQUIRE(response.sequences_size() == 2);

  auto model = model::CausalLM::Load(SourcePath("tests/data/models/tiny-qwen2"),
                                     {.heads = model::Heads::kLm});
  REQUIRE(model.ok());
  for (size_t i = 0; i < prompts.size(); ++i) {
    const rein::v1::SequenceLogProbs& got = response.sequences(static_cast<int>(i));
    CHECK(got.sequence_id() == 100 + i);
    REQUIRE(got.logprobs_size() == static_cast<int>(responses[i].size()));
    std::vector<int64_t> ids(prompts[i].begin(), prompts[i].end());
    ids.insert(ids.end(), responses[i].begin(), responses[i].end());
    const int64_t n = static_cast<int64_t>(ids.size());
    auto expected =
        model::ScoreTokens(**model, {.input_ids = at::tensor(ids, at::kLong).view({1, n})});
    REQUIRE(expected.ok());
    const int64_t offset = static_cast<int64_t>(prompts[i].size()) - 1;
    for (int t = 0; t < got.logprobs_size(); ++t) {
      CHECK(got.logprobs(t) == Approx(expected->logprobs[0][offset + t].item<float>()).margin(1e-5));
    }
  }

  rein::v1::LogProbsRequest bad = request;
  bad.mutable_sequences(1)->add_response_ids(-1);
  grpc::Status status = logprobs(bad, &response);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("sequence_id 101") != std::string::npos);
  bad = request;
  bad.mutable_sequences(0)->clear_response_ids();
  CHECK(logprobs(bad, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(logprobs(request, &response).ok());

  CHECK(worker.Metric("rein_reference_scored_sequences_total") == 4.0);
  testing::StopWorker(worker);
}

}  // namespace
}  // namespace rein::reference
