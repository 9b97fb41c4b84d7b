// rein-coordinator as a real process: workers (in-process fakes, see
// services/coordinator/fake_workers.h) register with it over gRPC, and it runs the configured
// iterations through them, then exits.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/rpc/client.h"
#include "common/rpc/serve.h"
#include "common/testing/path_trap.h"
#include "common/testing/subprocess.h"
#include "rein/v1/coordinator.grpc.pb.h"
#include "services/coordinator/fake_workers.h"

namespace rein::coordinator {
namespace {

std::string WriteRun(int iterations) {
  std::string dir = testing::MakeTempDir("rein-coordinator-");
  std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"one\"}\n{\"prompt\": \"two\"}\n";
  std::ofstream(dir + "/run.yaml")
      << "run:\n  iterations: " << iterations << "\n"
      << "data:\n  prompts: " << dir << "/prompts.jsonl\n  prompt_format: text\n"
      << "model:\n  tokenizer: " << testing::SourcePath("tests/data/tokenizer/tiny_gpt2") << "\n"
      << "rollout:\n  replicas: 2\n  capacity: 4\n  batch_size: 4\n  samples_per_prompt: 2\n"
      << "learner:\n  ranks: 2\n";
  return dir + "/run.yaml";
}

// Registers every worker of `cluster` with the coordinator at `address`.
void RegisterAll(Cluster& cluster, const std::string& address) {
  rpc::ClientOptions options;
  auto stub = rein::v1::Coordinator::NewStub(*rpc::CreateChannel(address, options));
  for (rein::v1::Role role : {rein::v1::ROLE_ROLLOUT, rein::v1::ROLE_REWARD,
                              rein::v1::ROLE_REFERENCE, rein::v1::ROLE_LEARNER}) {
    for (const Worker& worker : cluster.registry.Active(role)) {
      rein::v1::RegisterRequest request;
      request.set_worker_id(worker.id);
      request.set_role(role);
      request.set_address(worker.address);
      request.set_capacity(static_cast<uint32_t>(worker.capacity));
      request.set_rank(static_cast<uint32_t>(worker.rank));
      rein::v1::RegisterResponse response;
      auto context = rpc::NewCallContext(options);
      REQUIRE(stub->Register(context.get(), request, &response).ok());
    }
  }
}

TEST_CASE("the coordinator process runs its iterations through registered workers, then exits") {
  Cluster cluster;
  auto process = testing::Subprocess::Start({testing::BuiltBinary("rein-coordinator"),
                                             "--config=" + WriteRun(3), "--start",
                                             "--exit_when_done"});
  REQUIRE(process.ok());
  auto address = (*process)->WaitForLine(rpc::kListeningMarker, absl::Seconds(60));
  REQUIRE(address.ok());
  RegisterAll(cluster, *address);
  auto exit_code = (*process)->Wait(absl::Seconds(120));
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  // 3 iterations x 4 prompts x 2 samples over 2 ranks; one push per iteration.
  CHECK(cluster.learner0.service.trained_ids.size() == 12);
  CHECK(cluster.learner1.service.trained_ids.size() == 12);
  CHECK(cluster.learner0.service.pushes.size() == 3);
}

// A rein-coordinator process (run not started) and a stub to it.
struct Coordinator {
  std::unique_ptr<testing::Subprocess> process;
  std::unique_ptr<rein::v1::Coordinator::Stub> stub;
  int port = 0;
};

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Coordinator StartCoordinator(const std::string& config) {
  auto process =
      testing::Subprocess::Start({testing::BuiltBinary("rein-coordinator"), "--config=" + config});
  REQUIRE(process.ok());
  auto address = (*process)->WaitForLine(rpc::kListeningMarker, absl::Seconds(60));
  REQUIRE(address.ok());
  return {*std::move(process),
          rein::v1::Coordinator::NewStub(*rpc::CreateChannel(*address, rpc::ClientOptions{})),
          std::stoi(address->substr(address->rfind(':') + 1))};
}

grpc::Status RegisterAs(rein::v1::Coordinator::Stub& stub, const std::string& id,
                        const std::string& address) {
  rein::v1::RegisterRequest request;
  request.set_worker_id(id);
  request.set_role(rein::v1::ROLE_ROLLOUT);
  request.set_address(address);
  request.set_capacity(4);
  rein::v1::RegisterResponse response;
  auto context = rpc::NewCallContext(rpc::ClientOptions{});
  return stub.Register(context.get(), request, &response);
}

TEST_CASE("a second process cannot take over the id of a live worker, only of a gone one") {
  Cluster cluster;  // rollout-0 and rollout-1 answer health checks
  Coordinator coordinator = StartCoordinator(WriteRun(1));
  auto& process = coordinator.process;
  auto& stub = coordinator.stub;
  rpc::ClientOptions options;
  const std::string live = cluster.registry.Active(rein::v1::ROLE_ROLLOUT)[0].address;
  REQUIRE(RegisterAs(*stub, "rollout-0", live).ok());
  REQUIRE(RegisterAs(*stub, "rollout-0", live).ok());  // the same worker again: idempotent
  const std::string other = cluster.registry.Active(rein::v1::ROLE_ROLLOUT)[1].address;
  grpc::Status taken = RegisterAs(*stub, "rollout-0", other);
  CHECK(taken.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(taken.error_message().find("registered by a live worker at " + live) !=
        std::string::npos);
  // Once the first one is gone, a restarted worker may register under its id.
  cluster.rollout0.server->Shutdown();
  CHECK(RegisterAs(*stub, "rollout-0", other).ok());
  REQUIRE(process->Signal(SIGTERM).ok());
  CHECK(process->Wait(absl::Seconds(60)).value_or(-1) == 0);
}

// A rein-reward registered with the coordinator at `port`, giving it up after `lost`; its log
// goes to `log`.
std::unique_ptr<testing::Subprocess> StartWatchingWorker(const std::string& config, int port,
                                                         const std::string& lost,
                                                         const std::string& log) {
  auto worker = testing::Subprocess::Start(
      {"/bin/sh", "-c",
       "exec " + testing::BuiltBinary("rein-reward") + " --config=" + config +
           " --port=0 --coordinator=127.0.0.1:" + std::to_string(port) +
           " --coordinator_lost=" + lost + " 2>" + log});
  REQUIRE(worker.ok());
  for (absl::Time give_up = absl::Now() + absl::Seconds(60);
       ReadLog(log).find("registered with coordinator") == std::string::npos;) {
    REQUIRE(absl::Now() < give_up);
    absl::SleepFor(absl::Milliseconds(50));
  }
  return *std::move(worker);
}

TEST_CASE("a worker watching its coordinator stops when the coordinator is restarted or gone") {
  const std::string config = WriteRun(1);
  const std::string dir = config.substr(0, config.rfind('/'));
  // Rule rewards only: no model to load.
  std::ofstream(config, std::ios::app)
      << "reward:\n  model_weight: 0\n  rules:\n    length_penalty:\n      weight: 1.0\n"
         "      target_tokens: 4\n";
  Coordinator first = StartCoordinator(config);
  const int port = first.port;
  auto restarted = StartWatchingWorker(config, port, "60s", dir + "/restarted.log");

  // Killed and restarted on the same port at once: the new coordinator answers (no timeout
  // passes), but it is another process, and a worker registered with the old one must go.
  REQUIRE(first.process->Signal(SIGKILL).ok());
  REQUIRE(first.process->Wait(absl::Seconds(10)).ok());
  auto second = testing::Subprocess::Start(
      {testing::BuiltBinary("rein-coordinator"), "--config=" + config,
       "--port=" + std::to_string(port)});
  REQUIRE(second.ok());
  CHECK(restarted->Wait(absl::Seconds(30)).value_or(0) != 0);
  CHECK_THAT(ReadLog(dir + "/restarted.log"),
             Catch::Contains("coordinator 127.0.0.1:" + std::to_string(port) + " was restarted"));

  // A worker of the second coordinator, which then is gone for good: with a short timeout the
  // worker gives up.
  auto gone = StartWatchingWorker(config, port, "2s", dir + "/gone.log");
  REQUIRE((*second)->Signal(SIGKILL).ok());
  CHECK(gone->Wait(absl::Seconds(30)).value_or(0) != 0);
  CHECK_THAT(ReadLog(dir + "/gone.log"), Catch::Contains("has not answered for 2s"));
}

TEST_CASE("the coordinator serves registration, the key-value store and run control") {
  Coordinator coordinator = StartCoordinator(WriteRun(1));
  auto& process = coordinator.process;
  auto& stub = coordinator.stub;
  rpc::ClientOptions options;

  rein::v1::KvSetRequest set;
  set.set_key("gloo/rank0");
  set.set_value("127.0.0.1:29500");
  rein::v1::KvSetResponse set_reply;
  auto context = rpc::NewCallContext(options);
  REQUIRE(stub->KvSet(context.get(), set, &set_reply).ok());
  rein::v1::KvGetRequest get;
  get.set_key("gloo/rank0");
  get.mutable_wait()->set_seconds(5);
  rein::v1::KvGetResponse got;
  context = rpc::NewCallContext(options);
  REQUIRE(stub->KvGet(context.get(), get, &got).ok());
  CHECK(got.value() == "127.0.0.1:29500");

  rein::v1::RegisterRequest bad;
  bad.set_worker_id("x");
  bad.set_role(rein::v1::ROLE_ROLLOUT);
  bad.set_address("not-an-address");
  bad.set_capacity(1);
  rein::v1::RegisterResponse registered;
  context = rpc::NewCallContext(options);
  grpc::Status refused = stub->Register(context.get(), bad, &registered);
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(refused.error_message().find("address") != std::string::npos);

  rein::v1::RunStatus status;
  context = rpc::NewCallContext(options);
  REQUIRE(stub->Pause(context.get(), {}, &status).ok());
  CHECK(status.state() == rein::v1::RUN_STATE_PAUSED);
  rein::v1::SetRequest change;
  change.mutable_parameters()->set_kl_coef(-1);
  context = rpc::NewCallContext(options);
  CHECK(stub->Set(context.get(), change, &status).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(process->Signal(SIGTERM).ok());
  CHECK(process->Wait(absl::Seconds(60)).value_or(-1) == 0);
}

// Checkpoint requests name folders under the run folder only, and replace only checkpoints: a
// hostile client cannot make the coordinator (or, through it, the learner) write or delete
// anything else.
TEST_CASE("Checkpoint writes only under the run folder and never replaces a non-checkpoint") {
  namespace fs = std::filesystem;
  testing::PathTrap t;
  const fs::path& run = t.run;
  const fs::path& outside = t.outside;

  Cluster cluster;
  auto process = testing::Subprocess::Start({testing::BuiltBinary("rein-coordinator"),
                                             "--config=" + WriteRun(100000), "--start",
                                             "--run_dir=" + run.string()});
  REQUIRE(process.ok());
  auto address = (*process)->WaitForLine(rpc::kListeningMarker, absl::Seconds(60));
  REQUIRE(address.ok());
  RegisterAll(cluster, *address);
  rpc::ClientOptions options;
  options.default_deadline = absl::Seconds(60);
  auto stub = rein::v1::Coordinator::NewStub(*rpc::CreateChannel(*address, options));
  rein::v1::RunStatus status;
  auto context = rpc::NewCallContext(options);
  REQUIRE(stub->Pause(context.get(), {}, &status).ok());
  const auto checkpoint = [&](const std::string& directory,
                              rein::v1::CheckpointResponse* response) {
    rein::v1::CheckpointRequest request;
    request.set_directory(directory);
    auto call = rpc::NewCallContext(options);
    return stub->Checkpoint(call.get(), request, response);
  };

  const std::vector<std::pair<std::string, grpc::StatusCode>> refused = {
      {"../outside/ckpt", grpc::StatusCode::PERMISSION_DENIED},
      {(outside / "ckpt").string(), grpc::StatusCode::PERMISSION_DENIED},
      {"escape/ckpt", grpc::StatusCode::PERMISSION_DENIED},
      {"/etc/rein-ckpt", grpc::StatusCode::PERMISSION_DENIED},
      {std::string("ckpt\0x", 6), grpc::StatusCode::INVALID_ARGUMENT},
      {"fifo", grpc::StatusCode::INVALID_ARGUMENT},
      {"data", grpc::StatusCode::FAILED_PRECONDITION},
      {run.string(), grpc::StatusCode::FAILED_PRECONDITION},
      {"data/prompts.jsonl", grpc::StatusCode::FAILED_PRECONDITION},
  };
  rein::v1::CheckpointResponse written;
  for (const auto& [directory, code] : refused) {
    INFO(directory);
    const grpc::Status refusal = checkpoint(directory, &written);
    CHECK(refusal.error_code() == code);
    CHECK_THAT(refusal.error_message(), Catch::StartsWith("directory"));
  }
  CHECK(t.OutsideEntries() == std::set<std::string>{"canary.txt"});
  CHECK(t.Intact());
  CHECK(cluster.learner0.service.saved.empty());  // nothing reached the learner

  // A relative folder lands in the run folder; writing it again replaces the checkpoint.
  REQUIRE(checkpoint("mine", &written).ok());
  CHECK(written.directory() == (run / "mine").string());
  CHECK(fs::exists(run / "mine" / "coordinator.json"));
  CHECK(fs::exists(run / "mine" / "learner" / "version"));
  std::ofstream(run / "mine" / "stale") << "old";
  REQUIRE(checkpoint((run / "mine").string(), &written).ok());
  CHECK_FALSE(fs::exists(run / "mine" / "stale"));
  REQUIRE(checkpoint("", &written).ok());  // the run's own place
  CHECK_THAT(written.directory(), Catch::StartsWith(run.string() + "/checkpoints/iter-"));

  context = rpc::NewCallContext(options);
  REQUIRE(stub->Stop(context.get(), {}, &status).ok());
  REQUIRE((*process)->Signal(SIGTERM).ok());
  CHECK((*process)->Wait(absl::Seconds(60)).value_or(-1) == 0);
  CHECK(t.Intact());
}

}  // namespace
}  // namespace rein::coordinator
