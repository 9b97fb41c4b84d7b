#include "services/reference/reference_service.h"

#include <ATen/ops/tensor.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/rpc/client.h"
#include "common/rpc/server.h"
#include "common/testing/subprocess.h"

namespace rein::reference {
namespace {

std::unique_ptr<model::CausalLM> TinyModel() {
  auto lm = model::CausalLM::Load(testing::SourcePath("tests/data/models/tiny-gpt2"),
                                  {.heads = model::Heads::kLm});
  REQUIRE(lm.ok());
  return *std::move(lm);
}

struct ReferenceServer {
  prometheus::Registry registry;
  std::unique_ptr<ReferenceService> service;
  std::unique_ptr<rpc::Server> server;
  std::unique_ptr<rein::v1::Reference::Stub> stub;
  rpc::ClientOptions client;

  explicit ReferenceServer(int64_t max_sequences_per_call = 0) {
    ReferenceServiceOptions options;
    options.scoring.max_batch_tokens = 16;  // Several forward passes per call.
    options.max_sequences_per_call = max_sequences_per_call;
    auto created = ReferenceService::Create(TinyModel(), options, registry);
    REQUIRE(created.ok());
    service = *std::move(created);
    auto started =
        rpc::Server::Create({}, {rpc::Bind<rein::v1::Reference>(service.get())}, registry);
    REQUIRE(started.ok());
    server = *std::move(started);
    stub = rein::v1::Reference::NewStub(*rpc::CreateChannel(server->address(), client));
  }

  grpc::Status LogProbs(const rein::v1::LogProbsRequest& request,
                        rein::v1::LogProbsResponse* response) {
    auto context = rpc::NewCallContext(client);
    return stub->LogProbs(context.get(), request, response);
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

TEST_CASE("LogProbs gives one teacher-forced log-prob per response token") {
  ReferenceServer server;
  rein::v1::LogProbsRequest request;
  *request.add_sequences() = Sequence(5, {998, 10, 11}, {12, 13, 14, 999});
  *request.add_sequences() = Sequence(6, {7}, {8});
  *request.add_sequences() = Sequence(7, {1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11, 12, 13, 14, 15});
  rein::v1::LogProbsResponse response;
  REQUIRE(server.LogProbs(request, &response).ok());
  REQUIRE(response.sequences_size() == 3);

  auto model = TinyModel();
  for (int i = 0; i < 3; ++i) {
    const rein::v1::TokenSequence& s = request.sequences(i);
    CHECK(response.sequences(i).sequence_id() == s.sequence_id());
    REQUIRE(response.sequences(i).logprobs_size() == s.response_ids_size());
    std::vector<int64_t> ids(s.prompt_ids().begin(), s.prompt_ids().end());
    ids.insert(ids.end(), s.response_ids().begin(), s.response_ids().end());
    auto expected = model::ScoreTokens(
        *model,
        {.input_ids = at::tensor(ids, at::kLong).view({1, static_cast<int64_t>(ids.size())})});
    REQUIRE(expected.ok());
    const int64_t offset = s.prompt_ids_size() - 1;
    for (int t = 0; t < s.response_ids_size(); ++t) {
      CHECK(response.sequences(i).logprobs(t) ==
            Approx(expected->logprobs[0][offset + t].item<float>()).margin(1e-5));
    }
  }
  CHECK(response.stats().values().at("tokens/scored") == 12);
}

TEST_CASE("a LogProbs call over the replica's sequence limit is refused before any work") {
  ReferenceServer server(/*max_sequences_per_call=*/2);
  rein::v1::LogProbsRequest request;
  for (uint64_t i = 0; i < 3; ++i) *request.add_sequences() = Sequence(i, {1, 2}, {3});
  rein::v1::LogProbsResponse response;
  grpc::Status refused = server.LogProbs(request, &response);
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(refused.error_message().find("3 in one call; this replica takes at most 2") !=
        std::string::npos);
  request.mutable_sequences()->RemoveLast();
  CHECK(server.LogProbs(request, &response).ok());
}

TEST_CASE("malformed LogProbs requests are INVALID_ARGUMENT, and serving goes on") {
  ReferenceServer server;
  std::vector<std::pair<rein::v1::LogProbsRequest, std::string>> cases(5);
  cases[0].second = "sequences: none given";
  *cases[1].first.add_sequences() = Sequence(3, {1}, {});
  cases[1].second = "sequences[0] (sequence_id 3): response_ids is empty";
  *cases[2].first.add_sequences() = Sequence(4, {}, {1});
  cases[2].second = "sequences[0] (sequence_id 4): prompt_ids is empty";
  *cases[3].first.add_sequences() = Sequence(5, {-3}, {1});
  cases[3].second = "prompt_ids[0] = -3 is outside the vocabulary [0, 1000)";
  *cases[4].first.add_sequences() = Sequence(6, std::vector<int32_t>(120, 1),
                                             std::vector<int32_t>(9, 2));
  cases[4].second = "129 prompt + response tokens exceed the limit of 128";
  for (const auto& [request, expected] : cases) {
    INFO(expected);
    rein::v1::LogProbsResponse response;
    grpc::Status status = server.LogProbs(request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().find(expected) != std::string::npos);
  }
  rein::v1::LogProbsRequest good;
  *good.add_sequences() = Sequence(1, {1}, {2, 3});
  rein::v1::LogProbsResponse response;
  CHECK(server.LogProbs(good, &response).ok());
  CHECK(response.sequences(0).logprobs_size() == 2);
}

}  // namespace
}  // namespace rein::reference
