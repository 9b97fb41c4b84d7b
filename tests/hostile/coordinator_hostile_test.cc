// rein-coordinator under a hostile client: bad registrations, keys, folders and numbers, one
// by one and many at once, then valid calls; the process stays up with bounded memory.
#include <cmath>
#include <limits>

#include "rein/v1/coordinator.grpc.pb.h"
#include "tests/hostile/hostile_client.h"

namespace rein::testing {
namespace {

using grpc::StatusCode;

std::string WriteCoordinatorConfig() {
  const std::string dir = MakeTempDir("rein-hostile-coordinator-");
  std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"one\"}\n{\"prompt\": \"two\"}\n";
  std::ofstream(dir + "/run.yaml")
      << HostileServerYaml() << "run:\n  iterations: 2\n  output_dir: " << dir << "/out\n"
      << "data:\n  prompts: " << dir << "/prompts.jsonl\n  prompt_format: text\n"
      << "model:\n  tokenizer: " << SourcePath("tests/data/tokenizer/tiny_gpt2") << "\n"
      << "rollout:\n  replicas: 1\n  capacity: 4\n  batch_size: 2\n  samples_per_prompt: 1\n";
  return dir + "/run.yaml";
}

rein::v1::RegisterRequest ValidRegistration() {
  rein::v1::RegisterRequest request;
  request.set_role(rein::v1::ROLE_ROLLOUT);
  request.set_worker_id("rollout-0");
  request.set_address("127.0.0.1:1");
  request.set_capacity(4);
  return request;
}

TEST_CASE("hostile client: rein-coordinator refuses bad calls at the edge and keeps serving") {
  HostileTarget target =
      StartHostileTarget("rein-coordinator", {"--config=" + WriteCoordinatorConfig()});
  auto stub = rein::v1::Coordinator::NewStub(target.channel);
  const auto reg = [&](const rein::v1::RegisterRequest& request) {
    rein::v1::RegisterResponse response;
    return stub->Register(target.Context().get(), request, &response);
  };
  const auto kv_set = [&](const std::string& key, const std::string& value) {
    rein::v1::KvSetRequest request;
    request.set_key(key);
    request.set_value(value);
    rein::v1::KvSetResponse response;
    return stub->KvSet(target.Context().get(), request, &response);
  };
  REQUIRE(reg(ValidRegistration()).ok());
  REQUIRE(kv_set("rein/joined/0", "x").ok());
  target.RecordBaseline();

  std::vector<BadCall> calls;
  for (const std::string& bad : HostileStrings()) {
    const std::string shown = QuotedForTest(bad);
    calls.push_back({"worker_id " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::RegisterRequest r = ValidRegistration();
                       r.set_worker_id(bad);
                       return reg(r);
                     }});
    calls.push_back({"address " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::RegisterRequest r = ValidRegistration();
                       r.set_address(bad);
                       return reg(r);
                     }});
    calls.push_back(
        {"kv key " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] { return kv_set(bad, "v"); }});
    calls.push_back({"kv get key " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::KvGetRequest request;
                       request.set_key(bad);
                       rein::v1::KvGetResponse response;
                       return stub->KvGet(target.Context().get(), request, &response);
                     }});
    calls.push_back({"checkpoint directory " + shown, {StatusCode::INVALID_ARGUMENT}, [&, bad] {
                       rein::v1::CheckpointRequest request;
                       request.set_directory(bad);
                       rein::v1::CheckpointResponse response;
                       return stub->Checkpoint(target.Context().get(), request, &response);
                     }});
  }
  calls.push_back({"empty registration", {StatusCode::INVALID_ARGUMENT}, [&] {
                     return reg(rein::v1::RegisterRequest());
                   }});
  calls.push_back({"unknown role", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::RegisterRequest r = ValidRegistration();
                     r.set_role(static_cast<rein::v1::Role>(999));
                     return reg(r);
                   }});
  calls.push_back({"capacity 2^32 - 1", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::RegisterRequest r = ValidRegistration();
                     r.set_capacity(std::numeric_limits<uint32_t>::max());
                     return reg(r);
                   }});
  calls.push_back({"capacity 0", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::RegisterRequest r = ValidRegistration();
                     r.set_capacity(0);
                     return reg(r);
                   }});
  calls.push_back({"rank 2^32 - 1", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::RegisterRequest r = ValidRegistration();
                     r.set_role(rein::v1::ROLE_LEARNER);
                     r.set_rank(std::numeric_limits<uint32_t>::max());
                     return reg(r);
                   }});
  calls.push_back({"kv value over the message limit", {StatusCode::RESOURCE_EXHAUSTED}, [&] {
                     return kv_set("rein/big", Oversized());
                   }});
  calls.push_back({"kv get of an absent key, no wait", {StatusCode::NOT_FOUND}, [&] {
                     rein::v1::KvGetRequest request;
                     request.set_key("rein/absent");
                     rein::v1::KvGetResponse response;
                     return stub->KvGet(target.Context().get(), request, &response);
                   }});
  calls.push_back({"kv get with a negative wait", {StatusCode::NOT_FOUND}, [&] {
                     rein::v1::KvGetRequest request;
                     request.set_key("rein/absent");
                     request.mutable_wait()->set_seconds(-5);
                     rein::v1::KvGetResponse response;
                     return stub->KvGet(target.Context().get(), request, &response);
                   }});
  calls.push_back({"kv get with a huge wait, short deadline", {StatusCode::DEADLINE_EXCEEDED}, [&] {
                     rein::v1::KvGetRequest request;
                     request.set_key("rein/absent");
                     request.mutable_wait()->set_seconds(std::numeric_limits<int64_t>::max());
                     rein::v1::KvGetResponse response;
                     auto context = rpc::NewCallContext(target.client, absl::Milliseconds(300));
                     return stub->KvGet(context.get(), request, &response);
                   }});
  calls.push_back({"kl_coef NaN", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::SetRequest request;
                     request.mutable_parameters()->set_kl_coef(std::nan(""));
                     rein::v1::RunStatus response;
                     return stub->Set(target.Context().get(), request, &response);
                   }});
  calls.push_back({"learning_rate -1", {StatusCode::INVALID_ARGUMENT}, [&] {
                     rein::v1::SetRequest request;
                     request.mutable_parameters()->set_learning_rate(-1);
                     rein::v1::RunStatus response;
                     return stub->Set(target.Context().get(), request, &response);
                   }});
  ExpectRefused(calls);
  ExpectRefusedConcurrently(calls);
  target.ExpectServing("rein.v1.Coordinator");

  // Valid calls still work, and the hostile ones left nothing registered or stored.
  rein::v1::RegisterRequest second = ValidRegistration();
  second.set_worker_id("rollout-1");
  second.set_address("127.0.0.1:2");
  rein::v1::RegisterResponse registered;
  REQUIRE(stub->Register(target.Context().get(), second, &registered).ok());
  CHECK(registered.workers_in_role() == 2);
  rein::v1::KvGetRequest get;
  get.set_key("rein/joined/0");
  rein::v1::KvGetResponse value;
  REQUIRE(stub->KvGet(target.Context().get(), get, &value).ok());
  CHECK(value.value() == "x");
  target.ExpectMemoryBounded();
  target.Stop();
}

}  // namespace
}  // namespace rein::testing
