// deploy/slurm/ under a real Slurm: slurm_cluster.sh starts munged, slurmctld and two slurmd nodes
// (each in a network namespace, 10.78.0.11 and .12), and a tiny PPO run over the synthetic world
// goes through deploy/slurm/submit.sh and rein.sbatch four times on that one cluster: to the end,
// cancelled with scancel, requeued with scontrol requeue, and requeued by the script itself on the
// time limit's USR1. Needs root (namespaces, munged, slurmd) and Debian's slurm-wlm and munge;
// without them the test says why and passes without running. The sizing case needs neither: it
// reads submit.sh's plan.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

namespace fs = std::filesystem;

// Waits for the job of each case, at most this long (a case takes 10-30 s here).
constexpr absl::Duration kJobTimeout = absl::Minutes(2);

std::string BinaryDir() { return fs::path(testing::BuiltBinary("reinctl")).parent_path(); }

testing::CommandResult Run(const std::vector<std::string>& argv,
                           absl::Duration timeout = absl::Seconds(60)) {
  auto result = testing::RunCommand(argv, "", timeout);
  REQUIRE(result.ok());
  return *result;
}

// The cluster for the test's lifetime. The destructor stops it (job processes, daemons, namespaces)
// and removes its folder, whether the test passed or not.
class SlurmCluster {
 public:
  SlurmCluster() : scratch_(testing::MakeTempDir("rein-slurm-")) {}
  ~SlurmCluster() {
    auto stopped = testing::RunCommand({Script(), "stop", scratch_}, "", absl::Minutes(1));
    if (!stopped.ok() || stopped->exit_code != 0) {
      WARN("slurm_cluster.sh stop failed: " << (stopped.ok() ? stopped->stderr_text : ""));
    }
    std::error_code ignored;
    if (std::getenv("REIN_KEEP_SCRATCH") == nullptr) fs::remove_all(scratch_, ignored);
  }
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  // Exit status 0 when the nodes are up; 2 when this machine cannot run the cluster (why is in
  // `output`).
  int Start(std::string& output) {
    testing::CommandResult started = Run({Script(), "start", scratch_}, absl::Minutes(2));
    output = started.stdout_text + started.stderr_text;
    return started.exit_code;
  }

  const std::string& scratch() const { return scratch_; }
  std::string conf() const { return scratch_ + "/etc/slurm.conf"; }

  // A Slurm client command (scontrol, scancel, squeue...) against this cluster.
  testing::CommandResult Slurm(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"/usr/bin/env", "SLURM_CONF=" + conf()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }

  // submit.sh CONFIG -N 2 --parsable ...: the job id.
  std::string Submit(const std::string& config, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "SLURM_CONF=" + conf(),
                                     "REIN_BIN=" + BinaryDir(),
                                     "REIN_RUNS=" + scratch_ + "/runs",
                                     testing::SourcePath("deploy/slurm/submit.sh"),
                                     config,
                                     "-N",
                                     "2",
                                     "--parsable",
                                     "--output=" + scratch_ + "/job-%j.out"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    testing::CommandResult submitted = Run(argv);
    INFO(submitted.stdout_text << submitted.stderr_text);
    REQUIRE(submitted.exit_code == 0);
    std::string id(absl::StripAsciiWhitespace(submitted.stdout_text));
    id = id.substr(0, id.find(';'));
    REQUIRE(!id.empty());
    return id;
  }

  // "KEY=value" fields of `scontrol show job -o ID`: JobState, Reason, Restarts...
  std::string JobField(const std::string& id, const std::string& key) const {
    const std::string text = Slurm({"scontrol", "show", "job", "-o", id}).stdout_text;
    for (absl::string_view field : absl::StrSplit(text, absl::ByAnyChar(" \n"))) {
      if (absl::ConsumePrefix(&field, key + "=")) return std::string(field);
    }
    return "";
  }

  // True while squeue lists the job (pending, running or completing).
  bool Listed(const std::string& id) const {
    return !absl::StripAsciiWhitespace(Slurm({"squeue", "-h", "-j", id, "-o", "%T"}).stdout_text)
                .empty();
  }

  std::string RunDir(const std::string& id) const { return scratch_ + "/runs/e2e-" + id; }

  // The job's own output (rein.sbatch's lines, srun's messages), every start of it.
  std::string JobOutput(const std::string& id) const {
    return ReadFile(scratch_ + "/job-" + id + ".out");
  }

  // What to read when a check fails: the job's output and the coordinator's log.
  std::string Diagnostics(const std::string& id) const {
    return absl::StrCat("job ", id, " output:\n", JobOutput(id), "\ncoordinator log:\n",
                        ReadFile(RunDir(id) + "/logs/coordinator.log"));
  }

  // Command lines of Rein processes (and job scripts) of this test still running anywhere.
  std::string LeftoverProcesses() const {
    const std::string pattern = scratch_ + "/(runs|case-)|deploy/slurm/rein-task.sh";
    return Run({"/usr/bin/pgrep", "-a", "-f", "--", pattern}).stdout_text;
  }

 private:
  static std::string Script() { return testing::SourcePath("tests/deploy/slurm/slurm_cluster.sh"); }

  const std::string scratch_;
};

// Polls `done` every 200 ms until it holds; fails the test after `timeout`.
void WaitFor(const std::string& what, absl::Duration timeout, const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    INFO("waiting for " << what);
    REQUIRE(absl::Now() < deadline);
    absl::SleepFor(absl::Milliseconds(200));
  }
}

// A PPO config over the world for a two-node job: 2 learner ranks (Gloo), every server bound to all
// addresses, a checkpoint every iteration.
std::string JobConfig(const std::string& dir, int iterations) {
  std::string config_path =
      WriteConfig(dir, iterations,
                  {{"server", "  host: 0.0.0.0\n"}, {"learner", "  ranks: 2\n  backend: gloo\n"}});
  std::string text = ReadFile(config_path);
  const size_t at = text.find("checkpoint_every: 0");
  REQUIRE(at != std::string::npos);
  text.replace(at, 19, "checkpoint_every: 1");
  std::ofstream(config_path) << text;
  return config_path;
}

std::string StatusState(const std::string& run_dir) {
  const std::string text = ReadFile(run_dir + "/status.json");
  if (text.empty()) return "";
  return nlohmann::json::parse(text).value("state", "");
}

std::set<int> Iterations(const std::string& run_dir) {
  std::set<int> seen;
  for (const nlohmann::json& line : ReadStats(run_dir)) seen.insert(line["iteration"].get<int>());
  return seen;
}

void CaseCompletes(SlurmCluster& cluster) {
  const std::string id = cluster.Submit(JobConfig(cluster.scratch() + "/case-a", 3));
  WaitFor("job " + id + " to complete", kJobTimeout, [&] { return !cluster.Listed(id); });
  const std::string run_dir = cluster.RunDir(id);
  INFO(cluster.Diagnostics(id));
  CHECK(cluster.JobField(id, "JobState") == "COMPLETED");
  CHECK(cluster.JobField(id, "ExitCode") == "0:0");
  CHECK(StatusState(run_dir) == "RUN_STATE_FINISHED");
  CHECK(Iterations(run_dir) == std::set<int>{1, 2, 3});
  for (const char* process : {"coordinator", "rollout-0", "rollout-1", "reward-0", "reference-0",
                              "learner-0", "learner-1"}) {
    INFO(process);
    CHECK(fs::exists(run_dir + "/logs/" + process + ".log"));
  }
  // The two ranks ran on the two nodes and formed one group over the nodes' addresses.
  const std::string rank0 = ReadFile(run_dir + "/logs/learner-0.log");
  const std::string rank1 = ReadFile(run_dir + "/logs/learner-1.log");
  CHECK_THAT(rank0, Catch::Contains("node=reinsl-n1 address=10.78.0.11"));
  CHECK_THAT(rank1, Catch::Contains("node=reinsl-n2 address=10.78.0.12"));
  CHECK_THAT(rank1, Catch::Contains("rank 1 of 2"));
  CHECK(ReadFile(run_dir + "/coordinator.address").rfind("10.78.0.11:", 0) == 0);
  CHECK_THAT(ReadFile(run_dir + "/prometheus_targets.json"),
             Catch::Contains("\"rein_process\":\"learner-1\"") && Catch::Contains("10.78.0.12:"));
  CHECK(cluster.LeftoverProcesses().empty());
}

void CaseScancel(SlurmCluster& cluster) {
  const std::string id = cluster.Submit(JobConfig(cluster.scratch() + "/case-b", 1000));
  const std::string run_dir = cluster.RunDir(id);
  WaitFor("2 iterations of job " + id, kJobTimeout, [&] { return ReadStats(run_dir).size() >= 2; });
  REQUIRE(cluster.Slurm({"scancel", id}).exit_code == 0);
  // KillWait is 60 s: a job still listed after that had processes Slurm had to kill.
  WaitFor("job " + id + " to end", absl::Seconds(90), [&] { return !cluster.Listed(id); });
  INFO(cluster.Diagnostics(id));
  CHECK(cluster.JobField(id, "JobState") == "CANCELLED");
  REQUIRE(StatusState(run_dir) == "RUN_STATE_STOPPED");
  // The final checkpoint is the iteration status.json ends at.
  const std::string last =
      nlohmann::json::parse(ReadFile(run_dir + "/status.json")).value("iteration", "");
  REQUIRE(!last.empty());
  CHECK(fs::exists(run_dir + "/checkpoints/iter-" + last + "/coordinator.json"));
  CHECK_THAT(ReadFile(run_dir + "/logs/coordinator.log"),
             Catch::Contains("stopping after the current iteration"));
  CHECK(std::stoi(last) < 1000);
  CHECK(cluster.LeftoverProcesses().empty());
}

// `requeue` (given the job id) makes the running job requeue itself: scontrol requeue, or the
// USR1 that --signal=B:USR1@... sends before the time limit. Returns the job id.
std::string CaseRequeue(SlurmCluster& cluster, const std::string& folder,
                        const std::function<void(const std::string&)>& requeue) {
  constexpr int kIterations = 20;
  const std::string id =
      cluster.Submit(JobConfig(cluster.scratch() + "/" + folder, kIterations), {"--requeue"});
  const std::string run_dir = cluster.RunDir(id);
  WaitFor("3 iterations of job " + id, kJobTimeout, [&] { return ReadStats(run_dir).size() >= 3; });
  requeue(id);
  // A requeued job waits (BeginTime) before it may start again; the test lets it go after 2 s.
  // At once was too soon: slurmd revokes the old instance's credential at one-second
  // granularity, and a start within that second was killed as "Job credential revoked".
  absl::Time pending_since = absl::InfiniteFuture();
  WaitFor("requeued job " + id + " to complete", kJobTimeout, [&] {
    const std::string state = cluster.JobField(id, "JobState");
    if (state == "PENDING" && cluster.JobField(id, "Reason") == "BeginTime") {
      if (pending_since == absl::InfiniteFuture()) pending_since = absl::Now();
      if (absl::Now() - pending_since >= absl::Seconds(2)) {
        cluster.Slurm({"scontrol", "update", "jobid=" + id, "StartTime=now"});
      }
    }
    return state == "COMPLETED" && !cluster.Listed(id);
  });
  INFO(cluster.Diagnostics(id));
  CHECK(cluster.JobField(id, "Restarts") == "1");
  CHECK(StatusState(run_dir) == "RUN_STATE_FINISHED");
  // Every iteration once: the first start stopped after a whole iteration and checkpointed it, the
  // second resumed from that checkpoint and ran to the end.
  const std::set<int> iterations = Iterations(run_dir);
  CHECK(iterations.size() == kIterations);
  CHECK(ReadStats(run_dir).size() == kIterations);
  CHECK(*iterations.rbegin() == kIterations);
  const std::string log = ReadFile(run_dir + "/logs/coordinator.log");
  const size_t second_start = log.find("rein-task: start job=" + id + " restart=1 ");
  REQUIRE(second_start != std::string::npos);
  CHECK_THAT(log.substr(0, second_start), Catch::Contains("starting afresh"));
  CHECK_THAT(log.substr(second_start),
             Catch::Contains("resuming from " + run_dir + "/checkpoints/iter-"));
  CHECK(cluster.LeftoverProcesses().empty());
  return id;
}

TEST_CASE("Slurm: a two-node PPO job completes, stops on scancel, resumes when requeued") {
  if (geteuid() != 0) {
    WARN("skipped: needs root (network namespaces, munged and slurmd)");
    return;
  }
  SlurmCluster cluster;
  std::string output;
  const int started = cluster.Start(output);
  if (started == 2) {
    WARN("skipped: " << output);
    return;
  }
  INFO(output);
  REQUIRE(started == 0);
  WorldDir();  // before the clock of the first job starts

  CaseCompletes(cluster);
  CaseScancel(cluster);
  CaseRequeue(cluster, "case-c", [&](const std::string& id) {
    REQUIRE(cluster.Slurm({"scontrol", "requeue", id}).exit_code == 0);
  });
  // The time limit's signal, sent early: the script stops the run and requeues the job.
  const std::string job = CaseRequeue(cluster, "case-d", [&](const std::string& id) {
    REQUIRE(cluster.Slurm({"scancel", "--batch", "--signal=USR1", id}).exit_code == 0);
  });
  CHECK_THAT(cluster.JobOutput(job), Catch::Contains("time limit near: stopping the run") &&
                                         Catch::Contains("requeueing job " + job));
}

// submit.sh --dry-run: the node counts and groups it would submit with.
std::string Plan(const std::string& config, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"/usr/bin/env", "REIN_BIN=" + BinaryDir(),
                                   testing::SourcePath("deploy/slurm/submit.sh"), config,
                                   "--dry-run"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  testing::CommandResult plan = Run(argv);
  INFO(plan.stderr_text);
  REQUIRE(plan.exit_code == 0);
  return plan.stdout_text;
}

// A temporary folder removed when the test case ends, passed or failed.
struct ScopedDir {
  ~ScopedDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  const std::string path;
};

TEST_CASE("submit.sh sizes the job from the config's replicas and ranks") {
  const ScopedDir scoped{testing::MakeTempDir("rein-slurm-plan-")};
  const std::string& dir = scoped.path;
  auto write = [&](const std::string& name, const std::string& yaml) {
    std::ofstream(dir + "/" + name) << yaml;
    return dir + "/" + name;
  };
  // CPUs: the workers share a node, each rank has one.
  const std::string cpu = write("cpu.yaml",
                                "run: {name: plan}\nlearner:\n  ranks: 4\nrollout:\n"
                                "  replicas: 4  # four\n");
  std::string plan = Plan(cpu, {"--time=10"});
  CHECK_THAT(plan, Catch::Contains("REIN_WORKER_NODES=1 REIN_LEARNER_NODES=4 sbatch "
                                   "--job-name=rein-plan --nodes=5 --time=10 "));
  // Given -N, the groups overlap to fit.
  plan = Plan(cpu, {"-N", "2"});
  CHECK_THAT(plan, Catch::Contains("REIN_WORKER_NODES=1 REIN_LEARNER_NODES=2 sbatch "
                                   "--job-name=rein-plan -N 2 "));
  CHECK_THAT(plan, !Catch::Contains("--nodes="));
  // GPUs: a GPU per task, 8 per node unless --gpus-per-node says otherwise; 6 rollouts, 2 reward
  // and 1 reference replicas = 9 tasks on 2 nodes, 16 ranks on 2.
  const std::string gpu = write("gpu.yaml",
                                "model:\n  device: cuda\nlearner:\n  ranks: 16\nrollout:\n"
                                "  replicas: 6\nreward:\n  replicas: 2\n");
  CHECK_THAT(Plan(gpu), Catch::Contains("REIN_WORKER_NODES=2 REIN_LEARNER_NODES=2 sbatch "
                                        "--job-name=rein-rein-run --nodes=4 --gpus-per-node=8 "));
  CHECK_THAT(Plan(gpu, {"--gpus-per-node=4"}),
             Catch::Contains("REIN_WORKER_NODES=3 REIN_LEARNER_NODES=4 sbatch "
                             "--job-name=rein-rein-run --nodes=7 --gpus-per-node=4 "));
  // SFT has no rollout, reward or reference replicas.
  const std::string sft = write("sft.yaml", "learner:\n  mode: sft\n  ranks: 2\n");
  CHECK_THAT(Plan(sft), Catch::Contains("REIN_WORKER_NODES=0 REIN_LEARNER_NODES=2 sbatch "
                                        "--job-name=rein-rein-run --nodes=2 "));
  // A config that does not check is not submitted.
  const std::string bad = write("bad.yaml", "learner:\n  ranks: 0\n");
  testing::CommandResult refused =
      Run({"/usr/bin/env", "REIN_BIN=" + BinaryDir(), testing::SourcePath("deploy/slurm/submit.sh"),
           bad, "--dry-run"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.stdout_text.empty());
}

}  // namespace
}  // namespace rein::e2e
