// rein-learner data-parallel ranks as real processes on 127.0.0.1, rendezvousing through the
// launcher's conventions (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT; the port chosen at run
// time): they train a batch split between them in lockstep, and when one rank dies the other's
// next Train fails fast with an error that names the dead rank.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/rpc/client.h"
#include "common/rpc/serve.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/testing/subprocess.h"
#include "rein/v1/learner.grpc.pb.h"

namespace rein::learner {
namespace {

// A port free right now (bound, read back, released).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string WriteConfig() {
  const std::string dir = testing::MakeTempDir("rein-learner-dp-");
  std::ofstream(dir + "/prompts.jsonl") << "{\"prompt\": \"one\"}\n";
  std::ofstream(dir + "/run.yaml")
      << "data:\n  prompts: " << dir << "/prompts.jsonl\n  prompt_format: text\n"
      << "model:\n  policy: " << testing::SourcePath("tests/data/models/tiny-llama") << "\n"
      << "learner:\n  mode: sft\n  ranks: 2\n  micro_batch_size: 2\n  learning_rate: 0.001\n";
  return dir + "/run.yaml";
}

rein::v1::TrainRequest SftSlice(int rank, uint64_t iteration) {
  rein::v1::TrainRequest request;
  request.set_iteration(iteration);
  for (int i = 0; i < 2; ++i) {
    rein::v1::TokenSequence* s = request.mutable_sft()->add_examples()->mutable_sequence();
    s->add_prompt_ids(5 + rank);
    s->add_prompt_ids(6);
    for (int t = 0; t < 3 + i; ++t) s->add_response_ids(10 + 4 * rank + t);
  }
  return request;
}

absl::StatusOr<rein::v1::TrainResponse> Train(const std::string& address,
                                              const rein::v1::TrainRequest& request) {
  rpc::ClientOptions options;
  ASSIGN_OR_RETURN(auto channel, rpc::CreateChannel(address, options));
  auto stub = rein::v1::Learner::NewStub(channel);
  auto context = rpc::NewCallContext(options, absl::Seconds(120));
  rein::v1::TrainResponse response;
  RETURN_IF_ERROR(FromGrpcStatus(stub->Train(context.get(), request, &response)));
  return response;
}

TEST_CASE("learner ranks as processes train together, and a dead rank fails the other fast") {
  const std::string config = WriteConfig();
  const std::string port = std::to_string(FreePort());
  std::vector<std::unique_ptr<testing::Subprocess>> ranks;
  std::vector<std::string> addresses;
  for (int r = 0; r < 2; ++r) {
    auto process = testing::Subprocess::Start(
        {"/usr/bin/env", absl::StrCat("RANK=", r), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
         absl::StrCat("MASTER_PORT=", port), testing::BuiltBinary("rein-learner"),
         "--config", config, "--collective_timeout", "30s", "--gloo_hostname", "127.0.0.1"});
    REQUIRE(process.ok());
    ranks.push_back(*std::move(process));
  }
  for (auto& process : ranks) {
    auto address = process->WaitForLine(rpc::kListeningMarker, absl::Seconds(120));
    INFO(address.status().ToString());
    REQUIRE(address.ok());
    addresses.push_back(*address);
  }

  // Iteration 1: both ranks, half the batch each, the same whole-batch loss on both.
  std::vector<absl::StatusOr<rein::v1::TrainResponse>> replies(2, absl::UnknownError(""));
  {
    std::vector<std::thread> threads;
    for (int r = 0; r < 2; ++r) {
      threads.emplace_back([&, r] { replies[r] = Train(addresses[r], SftSlice(r, 1)); });
    }
    for (std::thread& t : threads) t.join();
  }
  for (const auto& reply : replies) {
    INFO(reply.status().ToString());
    REQUIRE(reply.ok());
  }
  CHECK(replies[0]->stats().values().at("loss/sft") ==
        replies[1]->stats().values().at("loss/sft"));

  // Rank 1 dies; rank 0's next Train fails well before the 30 s collective timeout.
  REQUIRE(ranks[1]->Signal(SIGKILL).ok());
  REQUIRE(ranks[1]->Wait(absl::Seconds(30)).ok());
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<rein::v1::TrainResponse> alone = Train(addresses[0], SftSlice(0, 2));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO(alone.status().ToString());
  REQUIRE_FALSE(alone.ok());
  CHECK(alone.status().message().find("rank 0 of 2") != std::string::npos);
  CHECK(alone.status().message().find("rank(s) 1 did not arrive") != std::string::npos);
  CHECK(seconds < 20);
  REQUIRE(ranks[0]->Signal(SIGTERM).ok());
  CHECK(ranks[0]->Wait(absl::Seconds(60)).ok());
}

}  // namespace
}  // namespace rein::learner
