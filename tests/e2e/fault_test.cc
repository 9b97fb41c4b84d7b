// The running cluster under faults and under the control plane: a rollout replica killed
// mid-run, and reinctl status/set/pause/checkpoint/resume/stop and Ctrl-C on a live job.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/http.h"
#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

namespace fs = std::filesystem;


TEST_CASE("a rollout replica killed mid-run: every iteration completes on the survivor") {
  const std::string dir = testing::MakeTempDir("rein-e2e-kill-");
  const std::string run_dir = dir + "/run";
  // Long enough that the kill, sent once the first iteration is in, lands well before the last
  // iteration starts (with 4, a quick machine sometimes finished the run first).
  auto up = StartUp(WriteConfig(dir, 12), run_dir);
  WaitForIterations(run_dir, 1);
  std::map<std::string, pid_t> pids = Pids(run_dir);
  REQUIRE(pids.count("rollout-1") == 1);
  REQUIRE(kill(pids["rollout-1"], SIGKILL) == 0);
  auto exit_code = up->Wait(absl::Minutes(5));
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  std::vector<nlohmann::json> stats = ReadStats(run_dir);
  REQUIRE(stats.size() == 12);
  for (const nlohmann::json& line : stats) {
    CHECK(line["samples/count"] == 8);  // none lost, none counted twice
  }
  CHECK(stats.back()["rollout/replicas_used"] == 1);
}

// SIGSTOP is the fault a kill test misses: the replica's sockets stay open and its calls just
// never answer, so only deadlines (the generate call's, the weight push's per replica) notice.
TEST_CASE("a rollout replica frozen mid-run is taken out and the run completes on the survivor") {
  const std::string dir = testing::MakeTempDir("rein-e2e-freeze-");
  const std::string run_dir = dir + "/run";
  // Calls (and so pushes) time out after 8 s instead of the harness's 60 s.
  const std::string config = WriteConfig(dir, 8);
  std::string text = ReadFile(config);
  const size_t at = text.find("call_timeout: 60s");
  REQUIRE(at != std::string::npos);
  text.replace(at, 17, "call_timeout: 8s");
  std::ofstream(config) << text;
  auto up = StartUp(config, run_dir);
  WaitForIterations(run_dir, 1);
  std::map<std::string, pid_t> pids = Pids(run_dir);
  REQUIRE(pids.count("rollout-1") == 1);
  REQUIRE(kill(pids["rollout-1"], SIGSTOP) == 0);
  auto exit_code = up->Wait(absl::Minutes(4));
  kill(pids["rollout-1"], SIGKILL);  // reinctl up kills it too; this is for a failed run
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  std::vector<nlohmann::json> stats = ReadStats(run_dir);
  REQUIRE(stats.size() == 8);
  for (const nlohmann::json& line : stats) CHECK(line["samples/count"] == 8);
  CHECK(stats.back()["rollout/replicas_used"] == 1);
  CHECK_THAT(ReadFile(run_dir + "/logs/coordinator.log"),
             Catch::Contains("rollout-1 (") && Catch::Contains("taking it out of the run"));
}

// A folder reused after a crash still names the old coordinator's address, whose port another
// process may hold by now: `reinctl status` and `pause` must never reach that one.
TEST_CASE("a reused run folder never offers the old run's coordinator address") {
  const std::string dir = testing::MakeTempDir("rein-e2e-reuse-");
  const std::string run_dir = dir + "/run";
  fs::create_directories(run_dir);
  const std::string stale = absl::StrCat("127.0.0.1:", testing::FreePort());
  std::ofstream(run_dir + "/coordinator.address") << stale << "\n";
  std::ofstream(run_dir + "/pids") << "coordinator 1\n";
  auto up = StartUp(WriteConfig(dir, 2), run_dir);
  REQUIRE(up->WaitForLine("run folder:", absl::Minutes(1)).ok());
  // From here on the file is absent until the new coordinator listens, then names it.
  const absl::Time deadline = absl::Now() + absl::Minutes(2);
  std::string address;
  while (address.empty() && absl::Now() < deadline) {
    std::ifstream in(run_dir + "/coordinator.address");
    std::getline(in, address);
    CHECK(address != stale);
    if (address.empty()) absl::SleepFor(absl::Milliseconds(20));
  }
  CHECK(Pids(run_dir)["coordinator"] != 1);
  auto exit_code = up->Wait(absl::Minutes(4));
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
}

TEST_CASE("a coordinator killed mid-run is restarted with the whole run from its newest checkpoint") {
  const std::string dir = testing::MakeTempDir("rein-e2e-restart-");
  const std::string run_dir = dir + "/run";
  std::string config = ReadFile(WriteConfig(dir, 12));
  config.replace(config.find("checkpoint_every: 0"), 19, "checkpoint_every: 2");
  std::ofstream(dir + "/run.yaml") << config;
  auto up = StartUp(dir + "/run.yaml", run_dir, {"--max-restarts", "2"});
  WaitForIterations(run_dir, 3);  // past the checkpoint of iteration 2
  std::map<std::string, pid_t> pids = Pids(run_dir);
  REQUIRE(kill(pids["coordinator"], SIGKILL) == 0);
  auto exit_code = up->Wait(absl::Minutes(5));
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  CHECK_THAT(up->output(), Catch::Contains("the coordinator died (exit status 137); restarting "
                                           "the whole run from"));
  CHECK_THAT(up->output(), Catch::Contains("(restart 1 of 2)"));
  CHECK_THAT(up->output(), Catch::Contains("run finished"));
  // Every iteration is there; those after the checkpoint it resumed from were run again.
  std::set<int> iterations;
  for (const nlohmann::json& line : ReadStats(run_dir)) {
    iterations.insert(line["iteration"].get<int>());
  }
  CHECK(iterations.size() == 12);
  CHECK(*iterations.rbegin() == 12);
  CHECK(Pids(run_dir)["coordinator"] != pids["coordinator"]);
}

TEST_CASE("reinctl controls a live job: status, set, pause, checkpoint, resume, stop") {
  const std::string dir = testing::MakeTempDir("rein-e2e-control-");
  const std::string run_dir = dir + "/run";
  auto up = StartUp(WriteConfig(dir, 200), run_dir);
  WaitForIterations(run_dir, 1);

  // Every process serves /metrics, listed for Prometheus in prometheus_targets.json.
  const std::string targets_file = run_dir + "/prometheus_targets.json";
  for (absl::Time give_up = absl::Now() + absl::Seconds(20);
       !fs::exists(targets_file) && absl::Now() < give_up;) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::ifstream targets_in(targets_file);
  const nlohmann::json targets = nlohmann::json::parse(targets_in, nullptr, false);
  REQUIRE(targets.is_array());
  CHECK(targets.size() == 6);
  for (const nlohmann::json& target : targets) {
    const std::string address = target["targets"][0];
    const std::string process = target["labels"]["rein_process"];
    INFO(process << " at " << address);
    auto scraped = testing::HttpGet("127.0.0.1", std::stoi(address.substr(address.rfind(':') + 1)),
                                    "/metrics");
    REQUIRE(scraped.ok());
    CHECK(scraped->status_code == 200);
    CHECK_THAT(scraped->body, Catch::Contains("rein_rpc_server_handled_total"));
  }

  testing::CommandResult status = Ctl({"status", "--run", run_dir});
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.stdout_text, Catch::Contains("iter ") && Catch::Contains("/200"));

  CHECK(Ctl({"set", "--run", run_dir, "--kl-coef", "0.5"}).exit_code == 0);
  CHECK(Ctl({"set", "--run", run_dir, "--kl-coef", "-1"}).exit_code == 1);  // refused

  CHECK(Ctl({"pause", "--run", run_dir}).exit_code == 0);
  // The iteration in flight when the pause arrived still finishes: wait until none lands for
  // a second.
  size_t paused_at = ReadStats(run_dir).size();
  for (size_t now = 0;; paused_at = now) {
    absl::SleepFor(absl::Seconds(1));
    now = ReadStats(run_dir).size();
    if (now == paused_at) break;
  }
  CHECK_THAT(Ctl({"status", "--run", run_dir}).stdout_text, Catch::Contains("PAUSED"));
  testing::CommandResult checkpoint =
      Ctl({"checkpoint", "--run", run_dir, "--dir", run_dir + "/ckpt"});
  CHECK(checkpoint.exit_code == 0);
  CHECK(fs::exists(run_dir + "/ckpt/coordinator.json"));
  CHECK(fs::exists(run_dir + "/ckpt/learner/policy/config.json"));
  absl::SleepFor(absl::Seconds(1));
  CHECK(ReadStats(run_dir).size() == paused_at);  // nothing ran while paused

  CHECK(Ctl({"resume", "--run", run_dir}).exit_code == 0);
  WaitForIterations(run_dir, paused_at + 1);
  CHECK(ReadStats(run_dir).back()["kl/coef"] == 0.5);
  CHECK(Ctl({"stop", "--run", run_dir}).exit_code == 0);
  auto exit_code = up->Wait(absl::Minutes(2));
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  const size_t ran = ReadStats(run_dir).size();
  CHECK(ran < 200);
  CHECK(fs::exists(run_dir + "/checkpoints/iter-" + std::to_string(ran) + "/coordinator.json"));
  CHECK_THAT(up->output(), Catch::Contains("run stopped"));
  // Every control request is in the coordinator's log with the caller's address.
  std::string logged;
  std::ifstream coordinator_log(run_dir + "/logs/coordinator.log");
  for (std::string line; std::getline(coordinator_log, line);) logged += line + "\n";
  for (const char* what : {"pause requested by ipv4:127.0.0.1", "resume requested by ipv4:127.0.0.1",
                           "stop requested by ipv4:127.0.0.1", "checkpoint to '",
                           "set kl_coef: 0.5 requested by ipv4:127.0.0.1"}) {
    CHECK_THAT(logged, Catch::Contains(what));
  }
  CHECK_THAT(logged, Catch::Contains("set kl_coef: -1 requested by") &&
                         Catch::Contains("INVALID_ARGUMENT"));
  // After the coordinator has exited, status reads the final state from the run folder.
  testing::CommandResult ended = Ctl({"status", "--run", run_dir});
  INFO(ended.stdout_text << ended.stderr_text);
  CHECK(ended.exit_code == 0);
  CHECK_THAT(ended.stdout_text, Catch::Contains("STOPPED") &&
                                    Catch::Contains("iter " + std::to_string(ran) + "/200") &&
                                    Catch::Contains("status.json"));
}

TEST_CASE("Ctrl-C stops the whole local cluster cleanly") {
  const std::string dir = testing::MakeTempDir("rein-e2e-sigint-");
  const std::string run_dir = dir + "/run";
  auto up = StartUp(WriteConfig(dir, 200), run_dir);
  WaitForIterations(run_dir, 1);
  std::map<std::string, pid_t> pids = Pids(run_dir);
  REQUIRE(pids.size() == 6);  // coordinator, 2 rollouts, reward, reference, learner
  REQUIRE(up->Signal(SIGINT).ok());
  auto exit_code = up->Wait(absl::Minutes(2));
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  for (const auto& [name, pid] : pids) {
    INFO(name);
    CHECK(kill(pid, 0) == -1);  // gone (reaped by reinctl)
  }
}

// What a scancel (or deleting a Kubernetes Job) does: SIGTERM to every process of the job at
// once. With a drain grace the workers serve on until the coordinator has finished its
// iteration and written the final checkpoint; without one the learner would be gone before it.
TEST_CASE("SIGTERM to every process at once: workers drain, the run stops with a final checkpoint") {
  const std::string dir = testing::MakeTempDir("rein-e2e-scancel-");
  const std::string run_dir = dir + "/run";
  auto up = StartUp(WriteConfig(dir, 200), run_dir, {}, {"REIN_DRAIN_GRACE=60s"});
  WaitForIterations(run_dir, 2);
  std::map<std::string, pid_t> pids = Pids(run_dir);
  REQUIRE(pids.size() == 6);
  for (const auto& [name, pid] : pids) REQUIRE(kill(pid, SIGTERM) == 0);
  auto exit_code = up->Wait(absl::Minutes(2));
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  CHECK_THAT(up->output(), Catch::Contains("run stopped"));
  const nlohmann::json status = nlohmann::json::parse(ReadFile(run_dir + "/status.json"));
  CHECK(status["state"] == "RUN_STATE_STOPPED");
  const int last = ReadStats(run_dir).back()["iteration"].get<int>();
  CHECK(last < 200);
  const std::string final_checkpoint = run_dir + "/checkpoints/iter-" + std::to_string(last);
  CHECK(fs::exists(final_checkpoint + "/coordinator.json"));
  CHECK(fs::exists(final_checkpoint + "/learner/manifest.json"));
  CHECK_THAT(ReadFile(run_dir + "/logs/learner-0.log"),
             Catch::Contains("serving until coordinator"));
  for (const auto& [name, pid] : pids) {
    INFO(name);
    CHECK(kill(pid, 0) == -1);
  }
}

}  // namespace
}  // namespace rein::e2e
