// rein-rollout under a hostile client: malformed, oversized and out-of-vocabulary Generate
// calls, hostile policy folders, and weight streams that announce absurd sizes; the process
// stays up with bounded memory and still generates.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "rein/v1/rollout.grpc.pb.h"
#include "tests/hostile/hostile_client.h"

namespace rein::testing {
namespace {

using grpc::StatusCode;

rein::v1::GenerateRequest ValidGenerate() {
  rein::v1::GenerateRequest request;
  rein::v1::GeneratePrompt* prompt = request.add_prompts();
  prompt->set_prompt_id(1);
  prompt->add_token_ids(5);
  prompt->add_token_ids(6);
  request.set_samples_per_prompt(1);
  request.mutable_sampling()->set_max_new_tokens(4);
  request.mutable_sampling()->set_greedy(true);
  return request;
}

// A weight stream of one chunk that announces `tensor_count` tensors of `total_bytes`.
grpc::Status PushOneChunk(rein::v1::Rollout::Stub& stub, const HostileTarget& target,
                          uint64_t version, uint32_t tensor_count, uint64_t total_bytes,
                          const std::string& name) {
  auto context = target.Context();
  rein::v1::LoadWeightsResponse response;
  auto writer = stub.LoadWeights(context.get(), &response);
  rein::v1::TensorChunk chunk;
  chunk.set_policy_version(version);
  chunk.set_tensor_count(tensor_count);
  chunk.set_tensor_name(name);
  chunk.set_dtype(rein::v1::DTYPE_F32);
  chunk.add_shape(static_cast<int64_t>(total_bytes / 4));
  chunk.set_total_bytes(total_bytes);
  chunk.set_data(std::string(64, '\0'));
  writer->Write(chunk);
  writer->WritesDone();
  return writer->Finish();
}

TEST_CASE("hostile client: rein-rollout refuses bad calls at the edge and keeps serving") {
  const std::string dir = MakeTempDir("rein-hostile-rollout-");
  const std::string snapshots = dir + "/snapshots";
  const std::string tiny = SourcePath("tests/data/models/tiny-llama");
  // A folder whose config.json describes a model of 10^14 parameters.
  std::filesystem::create_directories(snapshots + "/huge");
  std::ofstream(snapshots + "/huge/config.json")
      << "{\"model_type\": \"llama\", \"vocab_size\": 1000000000, \"hidden_size\": 100000, "
         "\"num_hidden_layers\": 80, \"num_attention_heads\": 100, \"intermediate_size\": 1}";
  // tiny-llama's config over a sparse 1 TiB safetensors file.
  std::filesystem::create_directories(snapshots + "/sparse");
  std::filesystem::copy_file(tiny + "/config.json", snapshots + "/sparse/config.json");
  { std::ofstream(snapshots + "/sparse/model.safetensors"); }
  REQUIRE(truncate((snapshots + "/sparse/model.safetensors").c_str(), off_t{1} << 40) == 0);
  std::ofstream(dir + "/run.yaml")
      << HostileServerYaml() << "model:\n  policy: " << tiny
      << "\n  tokenizer: " << SourcePath("tests/data/tokenizer/tiny_gpt2")
      << "\nrollout:\n  capacity: 4\n";
  HostileTarget target = StartHostileTarget(
      "rein-rollout", {"--config=" + dir + "/run.yaml", "--snapshot_root=" + snapshots});
  auto stub = rein::v1::Rollout::NewStub(target.channel);
  const auto generate = [&](const rein::v1::GenerateRequest& request) {
    rein::v1::GenerateResponse response;
    return stub->Generate(target.Context().get(), request, &response);
  };
  REQUIRE(generate(ValidGenerate()).ok());
  target.RecordBaseline();

  // Each edit of a valid request that must be refused, with its code.
  using Edit = std::function<void(rein::v1::GenerateRequest&)>;
  const std::vector<std::tuple<std::string, StatusCode, Edit>> edits = {
      {"no prompts", StatusCode::INVALID_ARGUMENT, [](auto& r) { r.clear_prompts(); }},
      {"samples_per_prompt 0", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.set_samples_per_prompt(0); }},
      {"samples_per_prompt 2^32 - 1", StatusCode::RESOURCE_EXHAUSTED,
       [](auto& r) { r.set_samples_per_prompt(std::numeric_limits<uint32_t>::max()); }},
      {"17 prompts for capacity 4", StatusCode::RESOURCE_EXHAUSTED,
       [](auto& r) {
         for (int i = 0; i < 16; ++i) *r.add_prompts() = r.prompts(0);
       }},
      {"token id -1", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_prompts(0)->add_token_ids(-1); }},
      {"token id 2^31 - 1", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_prompts(0)->add_token_ids(std::numeric_limits<int32_t>::max()); }},
      {"empty prompt", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_prompts(0)->clear_token_ids(); }},
      {"prompt longer than the context", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         for (int i = 0; i < 200; ++i) r.mutable_prompts(0)->add_token_ids(7);
       }},
      {"max_new_tokens 0", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_sampling()->set_max_new_tokens(0); }},
      {"max_new_tokens -5", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_sampling()->set_max_new_tokens(-5); }},
      {"max_new_tokens 2^31 - 1", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_sampling()->set_max_new_tokens(std::numeric_limits<int32_t>::max());
       }},
      {"temperature NaN", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_sampling()->set_greedy(false);
         r.mutable_sampling()->set_temperature(std::nanf(""));
       }},
      {"temperature -1", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_sampling()->set_greedy(false);
         r.mutable_sampling()->set_temperature(-1);
       }},
      {"temperature 1e-30", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_sampling()->set_greedy(false);
         r.mutable_sampling()->set_temperature(1e-30f);
       }},
      {"top_p infinite", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_sampling()->set_greedy(false);
         r.mutable_sampling()->set_top_p(std::numeric_limits<float>::infinity());
       }},
      {"top_k -1", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_sampling()->set_greedy(false);
         r.mutable_sampling()->set_top_k(-1);
       }},
      {"stop id outside the vocabulary", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_sampling()->add_stop_token_ids(1 << 30); }},
      {"100000 stop ids", StatusCode::RESOURCE_EXHAUSTED,
       [](auto& r) {
         for (int i = 0; i < 100000; ++i) r.mutable_sampling()->add_stop_token_ids(3);
       }},
      {"min_policy_version 2^64 - 1", StatusCode::FAILED_PRECONDITION,
       [](auto& r) { r.set_min_policy_version(std::numeric_limits<uint64_t>::max()); }},
      {"policy_dir outside the snapshot roots", StatusCode::PERMISSION_DENIED,
       [](auto& r) { r.set_policy_dir("/etc"); }},
      {"policy_dir of 10^14 parameters", StatusCode::RESOURCE_EXHAUSTED,
       [&](auto& r) { r.set_policy_dir(snapshots + "/huge"); }},
      {"policy_dir with a 1 TiB safetensors file", StatusCode::INVALID_ARGUMENT,
       [&](auto& r) { r.set_policy_dir(snapshots + "/sparse"); }},
      {"a message over the server's limit", StatusCode::RESOURCE_EXHAUSTED,
       [](auto& r) { FillOverMessageLimit(r.mutable_prompts(0)->mutable_token_ids()); }},
  };
  std::vector<BadCall> calls;
  for (const auto& [what, code, edit] : edits) {
    rein::v1::GenerateRequest request = ValidGenerate();
    edit(request);
    calls.push_back({what, {code}, [&, request] { return generate(request); }});
  }
  for (const std::string& bad : HostileStrings()) {
    rein::v1::GenerateRequest request = ValidGenerate();
    request.set_policy_dir(bad);
    calls.push_back({"policy_dir " + QuotedForTest(bad),
                     {StatusCode::INVALID_ARGUMENT},
                     [&, request] { return generate(request); }});
  }
  const std::set<StatusCode> refused_stream = {
      StatusCode::INVALID_ARGUMENT, StatusCode::RESOURCE_EXHAUSTED, StatusCode::FAILED_PRECONDITION,
      StatusCode::DATA_LOSS};
  calls.push_back({"weights: 2^32 - 1 tensors", refused_stream, [&] {
                     return PushOneChunk(*stub, target, 1, std::numeric_limits<uint32_t>::max(), 64,
                                         "model.embed_tokens.weight");
                   }});
  calls.push_back({"weights: a tensor of 10^15 bytes", refused_stream, [&] {
                     return PushOneChunk(*stub, target, 1, 1, uint64_t{1'000'000'000'000'000},
                                         "model.embed_tokens.weight");
                   }});
  // Within the assembler's defaults (65536 tensors, 64 GiB) but beyond what tiny-llama's ~20
  // tensors and ~0.2 M weights can hold: refused by the bound the replica takes from its model.
  calls.push_back(
      {"weights: 1000 tensors for a model of ~20", refused_stream,
       [&] { return PushOneChunk(*stub, target, 1, 1000, 64, "model.embed_tokens.weight"); },
       "exceeds max_tensors"});
  calls.push_back({"weights: a 1 GiB tensor for a model of ~1 MB", refused_stream,
                   [&] {
                     return PushOneChunk(*stub, target, 1, 1, uint64_t{1} << 30,
                                         "model.embed_tokens.weight");
                   },
                   "above max_total_bytes"});
  calls.push_back({"weights: version 2^64 - 1", refused_stream, [&] {
                     return PushOneChunk(*stub, target, std::numeric_limits<uint64_t>::max(), 1, 64,
                                         "model.embed_tokens.weight");
                   }});
  calls.push_back({"weights: a 1 MiB tensor name", refused_stream, [&] {
                     return PushOneChunk(*stub, target, 1, 1, 64, std::string(1 << 20, 'n'));
                   }});
  ExpectRefused(calls);
  ExpectRefusedConcurrently(calls, /*threads=*/4, /*rounds=*/2);
  target.ExpectServing("rein.v1.Rollout");

  rein::v1::GenerateResponse response;
  REQUIRE(stub->Generate(target.Context().get(), ValidGenerate(), &response).ok());
  REQUIRE(response.completions_size() == 1);
  CHECK(response.completions(0).token_ids_size() > 0);
  CHECK(response.policy_version() == 0);
  target.ExpectMemoryBounded();
  target.Stop();
}

}  // namespace
}  // namespace rein::testing
