#include "services/rollout/rollout_service.h"

#include <ATen/core/grad_mode.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/rpc/client.h"
#include "common/rpc/server.h"
#include "common/testing/subprocess.h"
#include "common/weightsync/weight_stream.h"

namespace rein::rollout {
namespace {

std::unique_ptr<model::CausalLM> TinyPolicy() {
  auto policy = model::CausalLM::Load(testing::SourcePath("tests/data/models/tiny-llama"),
                                      {.heads = model::Heads::kLm});
  REQUIRE(policy.ok());
  return *std::move(policy);
}

// A RolloutService over real gRPC on a free loopback port.
struct Replica {
  prometheus::Registry registry;
  std::unique_ptr<RolloutService> service;
  std::unique_ptr<rpc::Server> server;
  std::unique_ptr<rein::v1::Rollout::Stub> stub;
  rpc::ClientOptions client;

  explicit Replica(std::vector<std::string> snapshot_roots = {},
                   std::unique_ptr<model::CausalLM> policy = TinyPolicy()) {
    RolloutServiceOptions options;
    options.max_batch_size = 4;
    options.snapshots.allowed_roots = std::move(snapshot_roots);
    options.snapshots.loader = [](const std::string& dir) {
      return model::CausalLM::Load(dir, {.heads = model::Heads::kLm});
    };
    auto created = RolloutService::Create(std::move(policy), options, registry);
    REQUIRE(created.ok());
    service = *std::move(created);
    auto started = rpc::Server::Create({}, {rpc::Bind<rein::v1::Rollout>(service.get())}, registry);
    REQUIRE(started.ok());
    server = *std::move(started);
    stub = rein::v1::Rollout::NewStub(*rpc::CreateChannel(server->address(), client));
  }

  grpc::Status Generate(const rein::v1::GenerateRequest& request,
                        rein::v1::GenerateResponse* response) {
    auto context = rpc::NewCallContext(client);
    return stub->Generate(context.get(), request, response);
  }
};

rein::v1::GenerateRequest SampleRequest() {
  rein::v1::GenerateRequest request;
  for (uint64_t p = 0; p < 2; ++p) {
    rein::v1::GeneratePrompt* prompt = request.add_prompts();
    prompt->set_prompt_id(100 + p);
    prompt->add_token_ids(1);
    prompt->add_token_ids(static_cast<int32_t>(17 + p));
    prompt->add_token_ids(42);
    prompt->set_seed(7 + p);
  }
  request.set_samples_per_prompt(2);
  request.mutable_sampling()->set_max_new_tokens(8);
  return request;
}

std::vector<int32_t> Tokens(const rein::v1::Completion& completion) {
  return {completion.token_ids().begin(), completion.token_ids().end()};
}

// An earlier policy (another model of the same vocabulary) as a folder under `root`.
std::string SaveEarlierPolicy(const std::string& root) {
  auto earlier = model::CausalLM::Load(testing::SourcePath("tests/data/models/tiny-qwen2"),
                                       {.heads = model::Heads::kLm});
  REQUIRE(earlier.ok());
  const std::string dir = root + "/checkpoints/iter-5/learner/policy";
  std::filesystem::create_directories(root + "/checkpoints/iter-5/learner");
  const absl::Status saved = (*earlier)->Save(dir);
  INFO(saved);
  REQUIRE(saved.ok());
  return dir;
}

TEST_CASE("Generate samples from an earlier policy folder without touching the current one") {
  const std::string root = testing::MakeTempDir("rein-rollout-snapshots-");
  const std::string earlier_dir = SaveEarlierPolicy(root);
  Replica replica({root});
  rein::v1::GenerateResponse current;
  REQUIRE(replica.Generate(SampleRequest(), &current).ok());

  rein::v1::GenerateRequest request = SampleRequest();
  request.set_policy_dir(earlier_dir);
  request.set_policy_dir_version(5);
  rein::v1::GenerateResponse earlier;
  REQUIRE(replica.Generate(request, &earlier).ok());
  CHECK(earlier.policy_version() == 5);
  // What a replica holding that policy as its own draws from the same seeds.
  auto loaded = model::CausalLM::Load(earlier_dir, {.heads = model::Heads::kLm});
  REQUIRE(loaded.ok());
  prometheus::Registry registry;
  RolloutServiceOptions options;
  options.max_batch_size = 4;
  auto own = RolloutService::Create(*std::move(loaded), options, registry);
  REQUIRE(own.ok());
  auto expected = (*own)->RunGenerate(SampleRequest());
  REQUIRE(expected.ok());
  REQUIRE(earlier.completions_size() == expected->completions_size());
  bool differs_from_current = false;
  for (int i = 0; i < earlier.completions_size(); ++i) {
    CHECK(Tokens(earlier.completions(i)) == Tokens(expected->completions(i)));
    differs_from_current |= Tokens(earlier.completions(i)) != Tokens(current.completions(i));
  }
  CHECK(differs_from_current);
  // The current policy is as it was, and the snapshot stays loaded for the next round's call.
  rein::v1::GenerateResponse again;
  REQUIRE(replica.Generate(SampleRequest(), &again).ok());
  CHECK(again.policy_version() == 0);
  for (int i = 0; i < again.completions_size(); ++i) {
    CHECK(Tokens(again.completions(i)) == Tokens(current.completions(i)));
  }
}

TEST_CASE("earlier policies are loaded once and the least recently used is dropped") {
  const std::string root = testing::MakeTempDir("rein-rollout-snapshots-");
  const std::string a = SaveEarlierPolicy(root);
  const std::string b = root + "/sft";
  REQUIRE(model::CausalLM::Load(a, {.heads = model::Heads::kLm}).value()->Save(b).ok());
  int loads = 0;
  SnapshotOptions options;
  options.allowed_roots = {root};
  options.max_snapshots = 1;
  options.loader = [&loads](const std::string& dir) {
    ++loads;
    return model::CausalLM::Load(dir, {.heads = model::Heads::kLm});
  };
  PolicySnapshots snapshots(options);
  auto first = snapshots.Get(a);
  REQUIRE(first.ok());
  REQUIRE(snapshots.Get(a + "/../policy").ok());  // the same folder, spelled otherwise
  CHECK(loads == 1);
  REQUIRE(snapshots.Get(b).ok());
  CHECK(loads == 2);
  CHECK(snapshots.loaded() == 1);
  // The dropped one still serves the caller holding it, and loads again on the next use.
  CHECK((*first)->model != nullptr);
  REQUIRE(snapshots.Get(a).ok());
  CHECK(loads == 3);
}

TEST_CASE("Generate refuses policy folders outside the replica's snapshot roots") {
  const std::string root = testing::MakeTempDir("rein-rollout-snapshots-");
  const std::string outside = testing::MakeTempDir("rein-rollout-elsewhere-");
  SaveEarlierPolicy(outside);
  Replica replica({root});
  const std::string escaping = root + "/../" + outside.substr(outside.rfind('/') + 1);
  for (const std::string& dir : {outside + "/checkpoints/iter-5/learner/policy",
                                 escaping + "/checkpoints/iter-5/learner/policy",
                                 std::string("/etc")}) {
    rein::v1::GenerateRequest request = SampleRequest();
    request.set_policy_dir(dir);
    rein::v1::GenerateResponse response;
    grpc::Status status = replica.Generate(request, &response);
    CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(status.error_message().find("outside the folders") != std::string::npos);
  }
  rein::v1::GenerateRequest missing = SampleRequest();
  missing.set_policy_dir(root + "/no-such-policy");
  rein::v1::GenerateResponse response;
  CHECK_FALSE(replica.Generate(missing, &response).ok());
  REQUIRE(replica.Generate(SampleRequest(), &response).ok());  // still serving
}

TEST_CASE("a Generate call over the replica's sequence limit is refused before any work") {
  prometheus::Registry registry;
  RolloutServiceOptions options;
  options.max_batch_size = 4;
  options.max_sequences_per_call = 3;
  auto service = RolloutService::Create(TinyPolicy(), options, registry);
  REQUIRE(service.ok());
  rein::v1::GenerateRequest request = SampleRequest();  // 2 prompts x 2 samples
  auto refused = (*service)->RunGenerate(request);
  CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(refused.status().message().find("4 sequences in one call") != std::string::npos);
  request.set_samples_per_prompt(1);
  CHECK((*service)->RunGenerate(request).ok());
  // A product past 2^32 does not wrap around.
  request.set_samples_per_prompt(4294967295u);
  CHECK((*service)->RunGenerate(request).status().code() ==
        absl::StatusCode::kResourceExhausted);
}

TEST_CASE("a replica never samples an id its tokenizer does not know (padded vocabularies)") {
  prometheus::Registry registry;
  RolloutServiceOptions options;
  options.max_batch_size = 4;
  options.sampleable_vocab_size = 50;  // tiny-llama's embedding has 1000 rows
  auto service = RolloutService::Create(TinyPolicy(), options, registry);
  REQUIRE(service.ok());
  rein::v1::GenerateRequest request = SampleRequest();
  request.mutable_sampling()->set_temperature(2.0f);
  request.mutable_sampling()->set_max_new_tokens(16);
  auto response = (*service)->RunGenerate(request);
  REQUIRE(response.ok());
  for (const rein::v1::Completion& c : response->completions()) {
    for (int32_t id : c.token_ids()) CHECK(id < 50);
  }
}

TEST_CASE("Generate samples reproducibly from per-prompt seeds at policy version 0") {
  Replica replica;
  rein::v1::GenerateResponse first, second;
  REQUIRE(replica.Generate(SampleRequest(), &first).ok());
  REQUIRE(replica.Generate(SampleRequest(), &second).ok());
  CHECK(first.policy_version() == 0);
  REQUIRE(first.completions_size() == 4);
  REQUIRE(second.completions_size() == 4);
  for (int i = 0; i < 4; ++i) {
    const rein::v1::Completion& c = first.completions(i);
    CHECK(c.prompt_id() == 100 + static_cast<uint64_t>(i / 2));
    CHECK(c.sample_index() == static_cast<uint32_t>(i % 2));
    CHECK(c.token_ids_size() >= 1);
    CHECK(c.token_ids_size() <= 8);
    CHECK(c.logprobs_size() == c.token_ids_size());
    for (float lp : c.logprobs()) CHECK(lp <= 0.0f);
    CHECK(Tokens(c) == Tokens(second.completions(i)));
    CHECK(c.finish_reason() != rein::v1::FINISH_REASON_UNSPECIFIED);
  }
  // The two samples of a prompt use different streams.
  CHECK(Tokens(first.completions(0)) != Tokens(first.completions(1)));
  CHECK(first.stats().values().at("tokens/generated") > 0);

  // A completion does not depend on the batch it is drawn in.
  rein::v1::GenerateRequest alone = SampleRequest();
  alone.mutable_prompts()->DeleteSubrange(0, 1);
  rein::v1::GenerateResponse single;
  REQUIRE(replica.Generate(alone, &single).ok());
  CHECK(Tokens(single.completions(0)) == Tokens(first.completions(2)));

  std::vector<prometheus::MetricFamily> families = replica.registry.Collect();
  bool found = false;
  for (const auto& family : families) {
    if (family.name == "rein_rollout_generated_tokens_total") {
      found = true;
      CHECK(family.metric.at(0).counter.value > 0);
    }
  }
  CHECK(found);
}

TEST_CASE("malformed Generate requests are INVALID_ARGUMENT naming the field, and serving goes on") {
  Replica replica;
  struct Case {
    std::string what;
    std::function<void(rein::v1::GenerateRequest&)> spoil;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"no prompts", [](auto& r) { r.clear_prompts(); }, "prompts"},
      {"empty prompt", [](auto& r) { r.mutable_prompts(1)->clear_token_ids(); },
       "prompts[1] (prompt_id 101): token_ids is empty"},
      {"id past the vocabulary", [](auto& r) { r.mutable_prompts(0)->set_token_ids(1, 1000); },
       "token_ids[1] = 1000"},
      {"negative id", [](auto& r) { r.mutable_prompts(0)->set_token_ids(0, -1); },
       "outside the vocabulary"},
      {"no samples", [](auto& r) { r.set_samples_per_prompt(0); }, "samples_per_prompt"},
      {"max_new_tokens 0", [](auto& r) { r.mutable_sampling()->set_max_new_tokens(0); },
       "max_new_tokens"},
      {"past the context", [](auto& r) { r.mutable_sampling()->set_max_new_tokens(126); },
       "exceed the context of 128"},
      {"negative temperature", [](auto& r) { r.mutable_sampling()->set_temperature(-1); },
       "temperature"},
      {"denormal temperature", [](auto& r) { r.mutable_sampling()->set_temperature(1e-40f); },
       "ask for sampling.greedy instead"},
      {"tiny temperature", [](auto& r) { r.mutable_sampling()->set_temperature(1e-6f); },
       "is below 0.001"},
      {"top_p above 1", [](auto& r) { r.mutable_sampling()->set_top_p(1.5f); }, "top_p"},
      {"negative top_k", [](auto& r) { r.mutable_sampling()->set_top_k(-2); }, "top_k"},
      {"bad stop id", [](auto& r) { r.mutable_sampling()->add_stop_token_ids(5000); },
       "stop_token_ids[0]"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    rein::v1::GenerateRequest request = SampleRequest();
    c.spoil(request);
    rein::v1::GenerateResponse response;
    grpc::Status status = replica.Generate(request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().find(c.expected) != std::string::npos);
  }
  rein::v1::GenerateResponse response;
  CHECK(replica.Generate(SampleRequest(), &response).ok());
  CHECK(response.completions_size() == 4);
}

TEST_CASE("a policy older than min_policy_version is FAILED_PRECONDITION") {
  Replica replica;
  rein::v1::GenerateRequest request = SampleRequest();
  request.set_min_policy_version(1);
  rein::v1::GenerateResponse response;
  grpc::Status status = replica.Generate(request, &response);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(status.error_message().find("min_policy_version") != std::string::npos);
}

// The tiny policy with every weight scaled, as (contiguous) named tensors to push, plus the
// scaled model itself to generate with in-process.
struct ScaledPolicy {
  std::unique_ptr<model::CausalLM> model = TinyPolicy();
  std::vector<tensor::NamedTensor> tensors;

  ScaledPolicy() {
    at::NoGradGuard no_grad;
    for (auto& [name, tensor] : model->NamedParameters()) {
      if (name.find("norm") == std::string::npos) tensor.mul_(1.5);
    }
    for (auto& [name, tensor] : model->NamedParameters()) {
      tensors.emplace_back(name, tensor.contiguous().clone());
    }
  }
};

std::vector<int32_t> GreedyInProcess(const model::CausalLM& lm, const std::vector<int64_t>& prompt,
                                     int64_t max_new_tokens) {
  auto generator = model::Generator::Create(lm, {.max_batch_size = 1, .max_sequence_length = 64});
  REQUIRE(generator.ok());
  model::GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = max_new_tokens;
  auto results = (*generator)->Generate({{prompt, 0}}, options);
  REQUIRE(results.ok());
  return {results->at(0).output_ids.begin(), results->at(0).output_ids.end()};
}

// SampleRequest, greedy, one sample per prompt.
rein::v1::GenerateRequest GreedyRequest() {
  rein::v1::GenerateRequest greedy = SampleRequest();
  greedy.mutable_sampling()->set_greedy(true);
  greedy.set_samples_per_prompt(1);
  return greedy;
}

TEST_CASE("LoadWeights swaps in a newer policy, then Generate reports and uses it") {
  Replica replica;
  ScaledPolicy scaled;
  const rein::v1::GenerateRequest greedy = GreedyRequest();
  const std::vector<int64_t> prompt = {1, 17, 42};  // GreedyRequest's first

  rein::v1::GenerateResponse before;
  REQUIRE(replica.Generate(greedy, &before).ok());
  CHECK(Tokens(before.completions(0)) == GreedyInProcess(*TinyPolicy(), prompt, 8));

  weightsync::PushOptions push;
  push.split.chunk_bytes = 4096;  // Many chunks.
  auto pushed = weightsync::PushWeights(*replica.stub, replica.client, 3, scaled.tensors, push);
  REQUIRE(pushed.ok());
  CHECK(pushed->policy_version() == 3);
  CHECK(pushed->tensor_count() == scaled.tensors.size());
  CHECK(replica.service->policy_version() == 3);

  rein::v1::GenerateResponse after;
  REQUIRE(replica.Generate(greedy, &after).ok());
  CHECK(after.policy_version() == 3);
  CHECK(Tokens(after.completions(0)) == GreedyInProcess(*scaled.model, prompt, 8));
  CHECK(Tokens(after.completions(0)) != Tokens(before.completions(0)));

  SECTION("the same version again is accepted as a no-op; an older one is refused") {
    auto again = weightsync::PushWeights(*replica.stub, replica.client, 3, scaled.tensors, push);
    CHECK(again.ok());
    CHECK(replica.service->policy_version() == 3);
    auto older = weightsync::PushWeights(*replica.stub, replica.client, 2, scaled.tensors, push);
    CHECK(older.status().code() == absl::StatusCode::kFailedPrecondition);
  }
  SECTION("a version far past the loaded one is refused, and the weights stay") {
    auto jump = weightsync::PushWeights(*replica.stub, replica.client, UINT64_MAX, scaled.tensors,
                                        push);
    CHECK(jump.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(jump.status().message()).find("jumps more than") != std::string::npos);
    CHECK(replica.service->policy_version() == 3);
  }
  SECTION("weights with a NaN or an infinity are refused before anything is installed") {
    for (const float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
      std::vector<tensor::NamedTensor> poisoned = scaled.tensors;
      poisoned.back().second = poisoned.back().second.clone();
      poisoned.back().second.view(-1)[7] = bad;
      auto refused = weightsync::PushWeights(*replica.stub, replica.client, 4, poisoned, push);
      CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
      CHECK(std::string(refused.status().message()).find("NaN or infinite") != std::string::npos);
      CHECK(replica.service->policy_version() == 3);
    }
    rein::v1::GenerateResponse still;
    REQUIRE(replica.Generate(greedy, &still).ok());
    CHECK(Tokens(still.completions(0)) == Tokens(after.completions(0)));
  }
  SECTION("a set that does not fit the policy is refused and the weights stay") {
    std::vector<tensor::NamedTensor> missing(scaled.tensors.begin() + 1, scaled.tensors.end());
    auto refused = weightsync::PushWeights(*replica.stub, replica.client, 4, missing, push);
    CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(refused.status().message()).find("missing") != std::string::npos);
    std::vector<tensor::NamedTensor> renamed = scaled.tensors;
    renamed[0].first = "not.a.weight";
    refused = weightsync::PushWeights(*replica.stub, replica.client, 4, renamed, push);
    CHECK(std::string(refused.status().message()).find("not.a.weight") != std::string::npos);
    std::vector<tensor::NamedTensor> reshaped = scaled.tensors;
    reshaped[0].second = reshaped[0].second.flatten();
    refused = weightsync::PushWeights(*replica.stub, replica.client, 4, reshaped, push);
    CHECK(std::string(refused.status().message()).find("shape") != std::string::npos);
  }
  SECTION("a truncated stream is refused and the weights stay") {
    std::vector<rein::v1::TensorChunk> chunks;
    REQUIRE(tensor::SplitTensorSet(4, TinyPolicy()->NamedParameters(), push.split,
                                   [&](const rein::v1::TensorChunk& chunk) {
                                     chunks.push_back(chunk);
                                     return absl::OkStatus();
                                   }).ok());
    chunks.pop_back();
    auto context = rpc::NewCallContext(replica.client);
    rein::v1::LoadWeightsResponse response;
    auto writer = replica.stub->LoadWeights(context.get(), &response);
    for (const auto& chunk : chunks) writer->Write(chunk);
    writer->WritesDone();
    CHECK(writer->Finish().error_code() == grpc::StatusCode::DATA_LOSS);
  }
  CHECK(replica.service->policy_version() == 3);
  rein::v1::GenerateResponse still;
  REQUIRE(replica.Generate(greedy, &still).ok());
  CHECK(still.policy_version() == 3);
  CHECK(Tokens(still.completions(0)) == Tokens(after.completions(0)));
}

TEST_CASE("a LoRA policy takes pushes of its adapters alone, and refuses full weights") {
  const model::LoraOptions lora{.rank = 2, .alpha = 4, .target_modules = {"q_proj", "v_proj"}};
  std::unique_ptr<model::CausalLM> policy = TinyPolicy();
  REQUIRE(policy->AddLora(lora, 1).ok());
  Replica replica({}, std::move(policy));
  // The learner's side: the same base, adapters it trained (here: random B).
  std::unique_ptr<model::CausalLM> trained = TinyPolicy();
  REQUIRE(trained->AddLora(lora, 2).ok());
  std::vector<tensor::NamedTensor> adapters;
  {
    at::NoGradGuard no_grad;
    for (auto& [name, tensor] : trained->NamedTrainableParameters()) {
      if (name.find("lora_B") != std::string::npos) tensor.normal_(0.0, 0.5);
      adapters.emplace_back(name, tensor.contiguous().clone());
    }
  }
  CHECK(adapters.size() == 2 * 2 * 2);  // layers x targets x (A, B)
  const rein::v1::GenerateRequest greedy = GreedyRequest();
  const std::vector<int64_t> prompt = {1, 17, 42};  // GreedyRequest's first
  rein::v1::GenerateResponse before;
  REQUIRE(replica.Generate(greedy, &before).ok());
  CHECK(Tokens(before.completions(0)) == GreedyInProcess(*TinyPolicy(), prompt, 8));

  auto full = weightsync::PushWeights(*replica.stub, replica.client, 1,
                                      TinyPolicy()->NamedParameters(), {});
  CHECK(full.status().code() == absl::StatusCode::kInvalidArgument);
  auto pushed = weightsync::PushWeights(*replica.stub, replica.client, 1, adapters, {});
  INFO(pushed.status());
  REQUIRE(pushed.ok());
  rein::v1::GenerateResponse after;
  REQUIRE(replica.Generate(greedy, &after).ok());
  CHECK(after.policy_version() == 1);
  CHECK(Tokens(after.completions(0)) == GreedyInProcess(*trained, prompt, 8));
  CHECK(Tokens(after.completions(0)) != Tokens(before.completions(0)));
}

}  // namespace
}  // namespace rein::rollout
