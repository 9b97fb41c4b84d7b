// rein-learner under a hostile client: malformed and oversized Train batches, absurd
// iterations, push fan-outs and folders; the process stays up with bounded memory and still
// trains.
#include <cmath>
#include <limits>

#include "rein/v1/learner.grpc.pb.h"
#include "tests/hostile/hostile_client.h"

namespace rein::testing {
namespace {

using grpc::StatusCode;

rein::v1::TrainRequest ValidTrain(uint64_t iteration) {
  rein::v1::TrainRequest request;
  request.set_iteration(iteration);
  rein::v1::TokenSequence* s = request.mutable_sft()->add_examples()->mutable_sequence();
  s->add_prompt_ids(5);
  s->add_prompt_ids(6);
  s->add_response_ids(7);
  s->add_response_ids(8);
  return request;
}

TEST_CASE("hostile client: rein-learner refuses bad calls at the edge and keeps serving") {
  const std::string dir = MakeTempDir("rein-hostile-learner-");
  std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"one\"}\n";
  std::ofstream(dir + "/run.yaml")
      << HostileServerYaml() << "data:\n  prompts: " << dir
      << "/prompts.jsonl\n  prompt_format: text\n"
      << "model:\n  policy: " << SourcePath("tests/data/models/tiny-llama") << "\n"
      << "learner:\n  mode: sft\n  ranks: 1\n  micro_batch_size: 2\n  learning_rate: 0.001\n";
  HostileTarget target = StartHostileTarget("rein-learner", {"--config=" + dir + "/run.yaml"});
  auto stub = rein::v1::Learner::NewStub(target.channel);
  const auto train = [&](const rein::v1::TrainRequest& request) {
    rein::v1::TrainResponse response;
    return stub->Train(target.Context().get(), request, &response);
  };
  const auto push = [&](const rein::v1::PushWeightsRequest& request) {
    rein::v1::PushWeightsResponse response;
    return stub->PushWeights(target.Context().get(), request, &response);
  };
  REQUIRE(train(ValidTrain(1)).ok());
  target.RecordBaseline();

  using Edit = std::function<void(rein::v1::TrainRequest&)>;
  const std::vector<std::tuple<std::string, StatusCode, Edit>> edits = {
      {"no batch", StatusCode::INVALID_ARGUMENT, [](auto& r) { r.clear_batch(); }},
      {"an experience batch for an sft learner", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_experiences()->add_experiences(); }},
      {"iteration 0 (already trained)", StatusCode::FAILED_PRECONDITION,
       [](auto& r) { r.set_iteration(0); }},
      {"iteration 2^64 - 1", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.set_iteration(std::numeric_limits<uint64_t>::max()); }},
      {"token id outside the vocabulary", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_sft()->mutable_examples(0)->mutable_sequence()->add_response_ids(1 << 30);
       }},
      {"token id -1", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_sft()->mutable_examples(0)->mutable_sequence()->add_prompt_ids(-1);
       }},
      {"longer than the context", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         for (int i = 0; i < 500; ++i) {
           r.mutable_sft()->mutable_examples(0)->mutable_sequence()->add_response_ids(9);
         }
       }},
      {"100000 examples", StatusCode::RESOURCE_EXHAUSTED,
       [](auto& r) {
         for (int i = 0; i < 100000; ++i) *r.mutable_sft()->add_examples() = r.sft().examples(0);
       }},
      {"learning_rate NaN", StatusCode::INVALID_ARGUMENT,
       [](auto& r) { r.mutable_overrides()->set_learning_rate(std::nan("")); }},
      {"kl_coef -infinity", StatusCode::INVALID_ARGUMENT,
       [](auto& r) {
         r.mutable_overrides()->set_kl_coef(-std::numeric_limits<double>::infinity());
       }},
      {"a message over the server's limit", StatusCode::RESOURCE_EXHAUSTED,
       [](auto& r) {
         FillOverMessageLimit(
             r.mutable_sft()->mutable_examples(0)->mutable_sequence()->mutable_response_ids());
       }},
  };
  std::vector<BadCall> calls;
  for (const auto& [what, code, edit] : edits) {
    rein::v1::TrainRequest request = ValidTrain(2);
    edit(request);
    calls.push_back({what, {code}, [&, request] { return train(request); }});
  }
  const std::set<StatusCode> bad_folder = {StatusCode::INVALID_ARGUMENT};
  for (const std::string& bad : HostileStrings()) {
    rein::v1::PushWeightsRequest to_bad;
    to_bad.add_rollout_addresses(bad);
    calls.push_back({"push to " + QuotedForTest(bad), {StatusCode::INVALID_ARGUMENT}, [&, to_bad] {
                       return push(to_bad);
                     }});
    calls.push_back({"save to " + QuotedForTest(bad), bad_folder, [&, bad] {
                       rein::v1::SaveCheckpointRequest request;
                       request.set_directory(bad);
                       rein::v1::SaveCheckpointResponse response;
                       return stub->SaveCheckpoint(target.Context().get(), request, &response);
                     }});
    calls.push_back({"restore from " + QuotedForTest(bad), bad_folder, [&, bad] {
                       rein::v1::RestoreRequest request;
                       request.set_directory(bad);
                       rein::v1::RestoreResponse response;
                       return stub->Restore(target.Context().get(), request, &response);
                     }});
  }
  {
    rein::v1::PushWeightsRequest request;
    for (int i = 0; i < 5000; ++i) request.add_rollout_addresses("127.0.0.1:1");
    calls.push_back({"push to 5000 replicas", {StatusCode::RESOURCE_EXHAUSTED}, [&, request] {
                       return push(request);
                     }});
  }
  calls.push_back({"save to an empty directory", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::SaveCheckpointResponse response;
                     return stub->SaveCheckpoint(target.Context().get(),
                                                 rein::v1::SaveCheckpointRequest(), &response);
                   }});
  calls.push_back(
      {"restore from a folder that does not exist",
       {StatusCode::NOT_FOUND, StatusCode::PERMISSION_DENIED, StatusCode::INVALID_ARGUMENT},
       [&] {
         rein::v1::RestoreRequest request;
         request.set_directory(dir + "/absent");
         rein::v1::RestoreResponse response;
         return stub->Restore(target.Context().get(), request, &response);
       }});
  calls.push_back({"weights in chunks of 2^64 - 1 bytes", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::GetWeightsRequest request;
                     request.set_chunk_bytes(std::numeric_limits<uint64_t>::max());
                     auto context = target.Context();
                     auto reader = stub->GetWeights(context.get(), request);
                     rein::v1::TensorChunk chunk;
                     while (reader->Read(&chunk)) {
                     }
                     return reader->Finish();
                   }});
  ExpectRefused(calls);
  ExpectRefusedConcurrently(calls, /*threads=*/4, /*rounds=*/2);
  target.ExpectServing("rein.v1.Learner");

  rein::v1::TrainResponse trained;
  REQUIRE(stub->Train(target.Context().get(), ValidTrain(2), &trained).ok());
  CHECK(trained.policy_version() == 2);
  target.ExpectMemoryBounded();
  target.Stop();
}

}  // namespace
}  // namespace rein::testing
