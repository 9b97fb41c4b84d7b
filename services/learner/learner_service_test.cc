// rein.v1.Learner over gRPC on loopback: Train, PushWeights into an in-test rollout weight sink,
// GetWeights, SaveCheckpoint and Restore (confined to the checkpoint roots), and refusals that
// leave the service serving.
#include "services/learner/learner_service.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "common/rpc/client.h"
#include "common/rpc/server.h"
#include "common/tensor/chunking.h"
#include "common/testing/path_trap.h"
#include "common/testing/subprocess.h"
#include "common/weightsync/weight_sink_service.h"
#include "services/learner/learner_test_util.h"

namespace rein::learner {
namespace {

namespace fs = std::filesystem;

// Where testing::MakeTempDir makes its folders: the roots of tests that save anywhere there.
std::string TempBase() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

struct Servers {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Registry sink_registry;
  std::unique_ptr<Learner> learner;
  std::unique_ptr<LearnerService> service;
  std::unique_ptr<rpc::Server> learner_server;
  weightsync::WeightSinkService sink;
  std::unique_ptr<rpc::Server> sink_server;
  std::unique_ptr<rein::v1::Learner::Stub> stub;
  rpc::ClientOptions client;

  explicit Servers(config::LearnerMode mode, std::vector<std::string> roots = {TempBase()},
                   bool caller_is_admin = false, LearnerServiceOptions options = {}) {
    client.default_deadline = absl::Seconds(60);
    auto state = REIN_LEARNER_OK(LearnerState::Create(testing::TinyOptions(mode)));
    learner = REIN_LEARNER_OK(Learner::Create(std::move(state), *registry));
    options.client = client;
    options.checkpoint_roots = std::move(roots);
    options.is_admin = [caller_is_admin](const grpc::ServerContext&) { return caller_is_admin; };
    service = std::make_unique<LearnerService>(*learner, options);
    learner_server = REIN_LEARNER_OK(
        rpc::Server::Create({}, {rpc::Bind<rein::v1::Learner>(service.get())}, *registry));
    sink_server = REIN_LEARNER_OK(
        rpc::Server::Create({}, {rpc::Bind<rein::v1::Rollout>(&sink)}, sink_registry));
    auto channel = REIN_LEARNER_OK(rpc::CreateChannel(learner_server->address(), client));
    stub = rein::v1::Learner::NewStub(channel);
  }

  rein::v1::TrainRequest ToyRequest(uint64_t iteration) {
    rein::v1::TrainRequest request;
    learner->InspectState([&](LearnerState& s) {
      request = testing::ToyExperienceRequest(s.policy(), iteration);
    });
    return request;
  }

  grpc::Status Save(const std::string& directory, rein::v1::SaveCheckpointResponse* reply) {
    rein::v1::SaveCheckpointRequest request;
    request.set_directory(directory);
    auto context = rpc::NewCallContext(client);
    return stub->SaveCheckpoint(context.get(), request, reply);
  }
  grpc::Status Restore(const std::string& directory) {
    rein::v1::RestoreRequest request;
    request.set_directory(directory);
    rein::v1::RestoreResponse reply;
    auto context = rpc::NewCallContext(client);
    return stub->Restore(context.get(), request, &reply);
  }

  grpc::Status Train(const rein::v1::TrainRequest& request, rein::v1::TrainResponse* reply) {
    auto context = rpc::NewCallContext(client);
    return stub->Train(context.get(), request, reply);
  }
};

TEST_CASE("Train over gRPC, then PushWeights delivers the new version to a rollout replica") {
  Servers s(config::LearnerMode::kPpo);
  rein::v1::TrainResponse reply;
  grpc::Status status = s.Train(s.ToyRequest(1), &reply);
  REQUIRE(status.ok());
  CHECK(reply.policy_version() == 1);
  CHECK(reply.stats().values().count("loss/value") == 1);

  rein::v1::PushWeightsRequest push;
  push.add_rollout_addresses(s.sink_server->address());
  rein::v1::PushWeightsResponse pushed;
  auto context = rpc::NewCallContext(s.client);
  status = s.stub->PushWeights(context.get(), push, &pushed);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(pushed.policy_version() == 1);
  CHECK(pushed.total_bytes() > 0);
  CHECK(pushed.push_seconds() >= 0);
  REQUIRE(s.sink.weights().version() == 1);
  const auto installed = s.sink.weights().Current();
  size_t expected = 0;
  s.learner->InspectState(
      [&](LearnerState& state) { expected = state.policy().NamedParameters().size(); });
  CHECK(installed->tensors.size() == expected);

  // The same version again is refused by the replica, and the error says which one.
  auto again = rpc::NewCallContext(s.client);
  status = s.stub->PushWeights(again.get(), push, &pushed);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(status.error_message().find(s.sink_server->address()) != std::string::npos);
}

// A replica frozen by SIGSTOP, as the network sees it: the kernel accepts the connection and
// then nothing ever answers.
class FrozenPeer {
 public:
  FrozenPeer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(listen(fd_, 8) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    address_ = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  }
  ~FrozenPeer() { close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

TEST_CASE("a push to a frozen replica fails at its deadline naming it, and the others install") {
  LearnerServiceOptions options;
  options.push_timeout = absl::Seconds(2);
  Servers s(config::LearnerMode::kPpo, {TempBase()}, false, options);
  rein::v1::TrainResponse reply;
  REQUIRE(s.Train(s.ToyRequest(1), &reply).ok());
  FrozenPeer frozen;
  rein::v1::PushWeightsRequest push;
  push.add_rollout_addresses(s.sink_server->address());
  push.add_rollout_addresses(frozen.address());
  rein::v1::PushWeightsResponse pushed;
  auto context = rpc::NewCallContext(s.client);  // 60 s: the push's own deadline must end it
  grpc::Status status = s.stub->PushWeights(context.get(), push, &pushed);
  INFO(status.error_message());
  CHECK(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(status.error_message().find("1 of 2 replicas") != std::string::npos);
  CHECK(status.error_message().find(frozen.address()) != std::string::npos);
  CHECK(s.sink.weights().version() == 1);
}

TEST_CASE("a Train whose caller gave up while it waited is refused and changes nothing") {
  Servers s(config::LearnerMode::kPpo);
  const rein::v1::TrainRequest request = s.ToyRequest(1);
  absl::Notification holding, release;
  std::thread busy([&] {
    s.learner->InspectState([&](LearnerState&) {  // the learner is busy meanwhile
      holding.Notify();
      release.WaitForNotification();
    });
  });
  holding.WaitForNotification();
  rein::v1::TrainResponse reply;
  auto context = rpc::NewCallContext(s.client, absl::Milliseconds(500));
  CHECK(s.stub->Train(context.get(), request, &reply).error_code() ==
        grpc::StatusCode::DEADLINE_EXCEEDED);
  release.Notify();
  busy.join();
  // The handler now gets the learner, finds its caller gone and refuses.
  for (int i = 0; i < 3000 && s.learner->metrics().train_rejected.Value() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(s.learner->metrics().train_rejected.Value() == 1);
  CHECK(s.learner->policy_version() == 0);
  REQUIRE(s.Train(request, &reply).ok());  // the same iteration, asked again, trains
  CHECK(reply.policy_version() == 1);
}

TEST_CASE("GetWeights streams past the limit are refused while one streams") {
  LearnerServiceOptions options;
  options.max_weight_streams = 1;
  Servers s(config::LearnerMode::kPpo, {TempBase()}, false, options);
  rein::v1::GetWeightsRequest get;
  get.set_chunk_bytes(1 << 10);
  // The first stream goes over a 16 KiB window (no BDP probing): the server fills it and waits
  // while this client reads nothing, holding its slot. Rein's channels take 16 MiB, which the
  // tiny model's ~0.6 MB stream fits, so there the handler could end (and free its slot)
  // before the second call arrives.
  grpc::ChannelArguments narrow;
  narrow.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 10);
  narrow.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto slow = rein::v1::Learner::NewStub(grpc::CreateCustomChannel(
      s.learner_server->address(), grpc::InsecureChannelCredentials(), narrow));
  auto first_context = rpc::NewCallContext(s.client);
  auto first = slow->GetWeights(first_context.get(), get);
  rein::v1::TensorChunk chunk;
  REQUIRE(first->Read(&chunk));  // streaming now, and holding its slot

  auto second_context = rpc::NewCallContext(s.client);
  auto second = s.stub->GetWeights(second_context.get(), get);
  CHECK_FALSE(second->Read(&chunk));
  grpc::Status refused = second->Finish();
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);

  while (first->Read(&chunk)) {
  }
  REQUIRE(first->Finish().ok());
  auto third_context = rpc::NewCallContext(s.client);
  auto third = s.stub->GetWeights(third_context.get(), get);
  int chunks = 0;
  while (third->Read(&chunk)) ++chunks;
  CHECK(third->Finish().ok());
  CHECK(chunks > 1);
}

TEST_CASE("malformed and duplicate Trains are refused and the service keeps serving") {
  Servers s(config::LearnerMode::kPpo);
  rein::v1::TrainResponse reply;
  rein::v1::TrainRequest malformed = s.ToyRequest(1);
  malformed.mutable_experiences()->mutable_experiences(2)->mutable_sequence()->add_response_ids(
      5000);
  grpc::Status status = s.Train(malformed, &reply);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("experiences[2]") != std::string::npos);

  rein::v1::TrainRequest empty;
  empty.set_iteration(1);
  empty.mutable_experiences();
  CHECK(s.Train(empty, &reply).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  REQUIRE(s.Train(s.ToyRequest(1), &reply).ok());
  CHECK(reply.policy_version() == 1);
  CHECK(s.Train(s.ToyRequest(1), &reply).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(s.Train(s.ToyRequest(2), &reply).ok());
  CHECK(reply.policy_version() == 2);
}

TEST_CASE("GetWeights streams the current version and SaveCheckpoint writes a folder") {
  Servers s(config::LearnerMode::kSft);
  rein::v1::TrainRequest request;
  request.set_iteration(1);
  *request.mutable_sft()->add_examples()->mutable_sequence() =
      testing::Sequence(0, {1, 2}, {3, 4});
  rein::v1::TrainResponse reply;
  REQUIRE(s.Train(request, &reply).ok());

  rein::v1::GetWeightsRequest get;
  get.set_chunk_bytes(64 << 10);
  auto context = rpc::NewCallContext(s.client);
  auto reader = s.stub->GetWeights(context.get(), get);
  auto assembler = REIN_LEARNER_OK(tensor::ChunkAssembler::Create({}));
  rein::v1::TensorChunk chunk;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    CHECK(chunk.policy_version() == 1);
    REQUIRE(assembler->Add(chunk).ok());
    ++chunks;
  }
  REQUIRE(reader->Finish().ok());
  const tensor::TensorSet set = REIN_LEARNER_OK(assembler->Finish());
  CHECK(chunks > 1);
  CHECK(set.policy_version == 1);

  const std::filesystem::path dir =
      std::filesystem::path(rein::testing::MakeTempDir("learner_service")) / "ckpt";
  rein::v1::SaveCheckpointRequest save;
  save.set_directory(dir.string());
  rein::v1::SaveCheckpointResponse saved;
  auto save_context = rpc::NewCallContext(s.client);
  REQUIRE(s.stub->SaveCheckpoint(save_context.get(), save, &saved).ok());
  CHECK(saved.step() == 1);
  CHECK(std::filesystem::exists(dir / "manifest.json"));
  CHECK(std::filesystem::exists(dir / "policy" / "model.safetensors"));
}

TEST_CASE("SaveCheckpoint writes only under the checkpoint roots and replaces only checkpoints") {
  rein::testing::PathTrap t;
  Servers s(config::LearnerMode::kSft, {t.run.string()});
  rein::v1::SaveCheckpointResponse saved;
  const std::vector<std::pair<std::string, grpc::StatusCode>> refused = {
      {"", grpc::StatusCode::INVALID_ARGUMENT},
      {"../outside/ckpt", grpc::StatusCode::PERMISSION_DENIED},
      {(t.outside / "ckpt").string(), grpc::StatusCode::PERMISSION_DENIED},
      {"escape/ckpt", grpc::StatusCode::PERMISSION_DENIED},
      {"/etc/rein-ckpt", grpc::StatusCode::PERMISSION_DENIED},
      {"fifo", grpc::StatusCode::INVALID_ARGUMENT},
      {"data", grpc::StatusCode::FAILED_PRECONDITION},
      {"data/prompts.jsonl", grpc::StatusCode::FAILED_PRECONDITION},
      {t.run.string(), grpc::StatusCode::FAILED_PRECONDITION},
  };
  for (const auto& [directory, code] : refused) {
    INFO(directory);
    const grpc::Status status = s.Save(directory, &saved);
    CHECK(status.error_code() == code);
    CHECK_THAT(status.error_message(), Catch::StartsWith("directory"));
  }
  CHECK(t.OutsideEntries() == std::set<std::string>{"canary.txt"});
  CHECK(t.Intact());

  // A relative folder is taken in the run folder; saving there again replaces the checkpoint.
  REQUIRE(s.Save("checkpoints/mine", &saved).ok());
  CHECK(saved.directory() == (t.run / "checkpoints/mine").string());
  CHECK(fs::exists(t.run / "checkpoints/mine/manifest.json"));
  std::ofstream(t.run / "checkpoints/mine/stale") << "old";
  REQUIRE(s.Save((t.run / "checkpoints/mine").string(), &saved).ok());
  CHECK_FALSE(fs::exists(t.run / "checkpoints/mine/stale"));
}

TEST_CASE("Restore reads only under the checkpoint roots unless the caller is admin") {
  rein::testing::PathTrap t;
  Servers s(config::LearnerMode::kSft, {t.run.string()});
  rein::v1::SaveCheckpointResponse saved;
  REQUIRE(s.Save("ckpt", &saved).ok());
  REQUIRE(s.learner->SaveCheckpoint((t.outside / "ckpt").string()).ok());  // not over gRPC
  for (const std::string& directory :
       {(t.outside / "ckpt").string(), std::string("../outside/ckpt"),
        std::string("escape/ckpt")}) {
    INFO(directory);
    const grpc::Status status = s.Restore(directory);
    CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK_THAT(status.error_message(), Catch::Contains("outside the folders"));
  }
  CHECK(s.Restore("fifo").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.Restore("missing").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(s.Restore("ckpt").ok());

  // The admin seam: the same request from an admin reads the folder outside (and still may not
  // write there).
  Servers admin(config::LearnerMode::kSft, {t.run.string()}, /*caller_is_admin=*/true);
  CHECK(admin.Restore((t.outside / "ckpt").string()).ok());
  CHECK(admin.Save((t.outside / "other").string(), &saved).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(t.OutsideEntries() == std::set<std::string>{"canary.txt", "ckpt"});
  CHECK(t.Intact());
}

}  // namespace
}  // namespace rein::learner
