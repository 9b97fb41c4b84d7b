#include "common/weightsync/weight_stream.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros_like.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>

#include "common/rpc/client.h"
#include "common/rpc/server.h"
#include "common/weightsync/weight_sink_service.h"

namespace rein::weightsync {
namespace {

using tensor::NamedTensor;

struct Sink {
  prometheus::Registry registry;
  WeightSinkService service;
  std::unique_ptr<rpc::Server> server;
  std::unique_ptr<rein::v1::Rollout::Stub> stub;
  rpc::ClientOptions client;

  Sink() {
    server = *rpc::Server::Create({}, {rpc::Bind<rein::v1::Rollout>(&service)}, registry);
    stub = rein::v1::Rollout::NewStub(*rpc::CreateChannel(server->address(), client));
  }
};

std::vector<NamedTensor> SmallPolicy() {
  return {{"embed.weight", at::randn({64, 32})},
          {"layers.0.bias", at::arange(17, at::kLong)},
          {"empty", at::randn({0, 4})},
          {"scale", at::randn({})}};
}

PushOptions SmallChunks() {
  PushOptions options;
  options.split.chunk_bytes = 1000;  // Many chunks, none aligned to a tensor boundary.
  return options;
}

TEST_CASE("a pushed tensor set arrives whole and is installed with its version") {
  Sink sink;
  std::vector<NamedTensor> policy = SmallPolicy();
  auto reply = PushWeights(*sink.stub, sink.client, 7, policy, SmallChunks());
  REQUIRE(reply.ok());
  CHECK(reply->policy_version() == 7);
  CHECK(reply->tensor_count() == 4);
  CHECK(reply->total_bytes() == 64 * 32 * 4 + 17 * 8 + 0 + 4);
  auto current = sink.service.weights().Current();
  REQUIRE(current != nullptr);
  CHECK(current->policy_version == 7);
  REQUIRE(current->tensors.size() == policy.size());
  for (size_t i = 0; i < policy.size(); ++i) {
    CHECK(current->tensors[i].first == policy[i].first);
    CHECK(at::equal(current->tensors[i].second, policy[i].second));
  }
}

TEST_CASE("an older or equal version is refused and the current weights stay") {
  Sink sink;
  REQUIRE(PushWeights(*sink.stub, sink.client, 3, SmallPolicy(), {}).ok());
  auto stale = PushWeights(*sink.stub, sink.client, 3, SmallPolicy(), {});
  CHECK(stale.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(stale.status().message()).find("not newer") != std::string::npos);
  CHECK(sink.service.weights().version() == 3);
}

// Sends hand-made chunks, to put faults on the wire that PushWeights never produces.
grpc::Status SendRaw(Sink& sink, const std::vector<rein::v1::TensorChunk>& chunks) {
  auto context = rpc::NewCallContext(sink.client);
  rein::v1::LoadWeightsResponse response;
  auto writer = sink.stub->LoadWeights(context.get(), &response);
  for (const auto& chunk : chunks) {
    if (!writer->Write(chunk)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

std::vector<rein::v1::TensorChunk> ChunksOf(uint64_t version) {
  std::vector<rein::v1::TensorChunk> chunks;
  std::vector<NamedTensor> policy = SmallPolicy();
  tensor::SplitOptions split;
  split.chunk_bytes = 1000;
  REQUIRE(tensor::SplitTensorSet(version, policy, split, [&](const rein::v1::TensorChunk& c) {
            chunks.push_back(c);
            return absl::OkStatus();
          }).ok());
  return chunks;
}

TEST_CASE("a corrupt, truncated or reordered stream installs nothing") {
  Sink sink;
  REQUIRE(PushWeights(*sink.stub, sink.client, 1, SmallPolicy(), {}).ok());
  auto before = sink.service.weights().Current();

  std::vector<rein::v1::TensorChunk> corrupt = ChunksOf(2);
  corrupt[2].mutable_data()->at(5) ^= 0x40;
  CHECK(SendRaw(sink, corrupt).error_code() == grpc::StatusCode::DATA_LOSS);

  std::vector<rein::v1::TensorChunk> truncated = ChunksOf(2);
  truncated.pop_back();
  CHECK_FALSE(SendRaw(sink, truncated).ok());

  std::vector<rein::v1::TensorChunk> reordered = ChunksOf(2);
  std::swap(reordered[1], reordered[2]);
  CHECK_FALSE(SendRaw(sink, reordered).ok());

  CHECK(sink.service.weights().Current() == before);
  CHECK(sink.service.weights().version() == 1);
  // And the replica still takes a good push afterwards.
  CHECK(SendRaw(sink, ChunksOf(2)).ok());
  CHECK(sink.service.weights().version() == 2);
}

TEST_CASE("a snapshot taken before an install keeps the weights it saw") {
  VersionedWeights weights;
  REQUIRE(weights.Install({1, {{"w", at::zeros_like(at::randn({2}))}}}).ok());
  std::shared_ptr<const tensor::TensorSet> in_use = weights.Current();
  REQUIRE(weights.Install({2, {{"w", at::randn({2})}}}).ok());
  CHECK(in_use->policy_version == 1);
  CHECK(weights.Current()->policy_version == 2);
}

}  // namespace
}  // namespace rein::weightsync

namespace rein::weightsync {
namespace {

TEST_CASE("a replaced set is handed back for reuse only when nothing else holds it") {
  VersionedWeights weights;
  REQUIRE(weights.Install({1, {{"w", at::randn({4})}}}).ok());
  REQUIRE(weights.Install({2, {{"w", at::randn({4})}}}).ok());
  tensor::TensorSet spare = weights.TakeSpare();
  REQUIRE(spare.tensors.size() == 1);
  CHECK(spare.policy_version == 1);
  CHECK(weights.TakeSpare().tensors.empty());  // Given at most once.

  REQUIRE(weights.Install({3, {{"w", at::randn({4})}}}).ok());
  auto reader = weights.Current();               // v3 in use by a request...
  REQUIRE(weights.Install({4, {{"w", at::randn({4})}}}).ok());
  CHECK(weights.TakeSpare().tensors.empty());   // ...so it is not handed out.
}

TEST_CASE("steady-state pushes assemble into the previous weights' buffers") {
  Sink sink;
  std::vector<NamedTensor> policy = {{"a", at::randn({256})}, {"b", at::randn({8, 8})}};
  REQUIRE(PushWeights(*sink.stub, sink.client, 1, policy, SmallChunks()).ok());
  const void* first = sink.service.weights().Current()->tensors[0].second.data_ptr();
  REQUIRE(PushWeights(*sink.stub, sink.client, 2, policy, SmallChunks()).ok());
  REQUIRE(PushWeights(*sink.stub, sink.client, 3, policy, SmallChunks()).ok());
  auto current = sink.service.weights().Current();
  CHECK(current->tensors[0].second.data_ptr() == first);  // v3 reused v1's storage.
  CHECK(at::equal(current->tensors[0].second, policy[0].second));
  CHECK(at::equal(current->tensors[1].second, policy[1].second));
}

}  // namespace
}  // namespace rein::weightsync
