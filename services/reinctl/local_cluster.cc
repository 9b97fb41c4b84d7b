#include "services/reinctl/local_cluster.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/files/run_folder.h"
#include "common/rpc/serve.h"
#include "common/status/status_macros.h"

namespace rein::reinctl {
namespace {

namespace fs = std::filesystem;

struct WorkerKind {
  std::string name;    // names the workers (<name>-<i>)
  std::string binary;  // rein-<binary>
  int replicas;
  std::vector<std::string> flags;  // besides the common ones
};

// The run folder that holds `resume` (a checkpoint or a run folder): a run resumed into a fresh
// run folder still reads the models and learner checkpoints the old one's rounds wrote.
std::string RunFolderOf(const std::string& resume) {
  std::error_code error;
  const fs::path path = fs::absolute(resume, error).lexically_normal();
  if (!fs::exists(path / files::kRunCheckpointMarker, error)) return path.string();
  const fs::path parent = path.parent_path();
  return parent.filename() == "checkpoints" ? parent.parent_path().string() : parent.string();
}

// The folders a worker may read and write on the coordinator's request (comma-separated).
std::string WorkerRoots(const std::string& run_dir, const std::string& resume) {
  return resume.empty() ? run_dir : absl::StrCat(run_dir, ",", RunFolderOf(resume));
}

std::vector<WorkerKind> WorkersOf(const config::ExperimentConfig& c, const std::string& run_dir,
                                  const std::string& resume) {
  const std::string roots = WorkerRoots(run_dir, resume);
  const std::string checkpoint_root = "--checkpoint_root=" + roots;
  std::vector<WorkerKind> kinds;
  if (config::IsReinforcementLearning(c.learner.mode)) {
    // Rounds sample earlier policies from the run's checkpoints and reload the reward models
    // its rounds/ hold.
    kinds.push_back({"rollout", "rollout", c.rollout.replicas, {"--snapshot_root=" + roots}});
    kinds.push_back({"reward", "reward", c.reward.replicas, {"--model_root=" + roots}});
  }
  if (config::UsesReference(c.learner.mode)) {
    kinds.push_back({"reference", "reference", c.reference.replicas, {}});
  }
  kinds.push_back({"learner", "learner", c.learner.ranks, {checkpoint_root}});
  if (c.rounds.count > 0 && config::IsOfflinePreference(c.learner.mode)) {
    // The policy learner trains on each round's judgements; rollouts sample the rounds.
    kinds.push_back({"rollout", "rollout", c.rollout.replicas, {"--snapshot_root=" + roots}});
    kinds.push_back({"feedback", "feedback", 1, {}});
  } else if (c.rounds.count > 0) {
    kinds.push_back({"feedback", "feedback", 1, {}});
    kinds.push_back({"reward-learner", "learner", 1, {"--reward_model_learner", checkpoint_root}});
    if (c.rounds.cost_model.steps > 0) {
      kinds.push_back({"cost-learner", "learner", 1, {"--cost_model_learner", checkpoint_root}});
    }
  }
  return kinds;
}

bool Selected(const LocalClusterOptions& options, const WorkerKind& kind, int index) {
  if (!options.roles.empty() &&
      std::find(options.roles.begin(), options.roles.end(), kind.name) == options.roles.end()) {
    return false;
  }
  if (kind.name != "learner" || options.first_rank < 0) return true;
  return index >= options.first_rank && index <= options.last_rank;
}

}  // namespace

std::vector<std::string> WorkerRoleNames() {
  return {"rollout", "reward", "reference", "learner", "feedback", "reward-learner",
          "cost-learner"};
}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    const config::ExperimentConfig& c, const LocalClusterOptions& options) {
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  if (!options.coordinator.empty()) {
    cluster->coordinator_address_ = options.coordinator;
    RETURN_IF_ERROR(cluster->StartWorkers(c, options));
    if (cluster->workers_.empty()) {
      return absl::InvalidArgumentError(
          "no worker to start here: --roles and --ranks select none of the config's workers");
    }
    return cluster;
  }
  std::vector<std::string> argv = {absl::StrCat(options.binary_dir, "/rein-coordinator"),
                                   "--config=" + options.config_path,
                                   absl::StrCat("--port=", options.coordinator_port),
                                   "--start",
                                   "--exit_when_done",
                                   "--run_dir=" + options.run_dir};
  if (!options.resume.empty()) argv.push_back("--resume=" + options.resume);
  ASSIGN_OR_RETURN(cluster->coordinator_,
                   ChildProcess::Spawn("coordinator", argv,
                                       absl::StrCat(options.run_dir, "/logs/coordinator.log")));
  absl::StatusOr<std::string> address =
      cluster->coordinator_->WaitForLogLine(rpc::kListeningMarker, absl::Minutes(2));
  if (!address.ok()) {
    return absl::Status(address.status().code(),
                        absl::StrCat(address.status().message(), "; its log ends:\n",
                                     cluster->coordinator_->LogTail(15)));
  }
  cluster->coordinator_address_ = *address;
  RETURN_IF_ERROR(cluster->StartWorkers(c, options));
  return cluster;
}

absl::Status LocalCluster::StartWorkers(const config::ExperimentConfig& c,
                                        const LocalClusterOptions& options) {
  for (const WorkerKind& kind : WorkersOf(c, options.run_dir, options.resume)) {
    for (int i = 0; i < kind.replicas; ++i) {
      if (!Selected(options, kind, i)) continue;
      const std::string name = absl::StrCat(kind.name, "-", i);
      std::vector<std::string> argv = {absl::StrCat(options.binary_dir, "/rein-", kind.binary),
                                       "--config=" + options.config_path, "--port=0",
                                       "--coordinator=" + coordinator_address_,
                                       "--worker_id=" + name};
      argv.insert(argv.end(), kind.flags.begin(), kind.flags.end());
      if (!options.advertise_host.empty() && kind.name != "feedback") {
        argv.push_back("--advertise_host=" + options.advertise_host);
      }
      if (kind.name == "learner") {
        argv.push_back(absl::StrCat("--rank=", i));
        if (!options.advertise_host.empty()) {
          argv.push_back("--gloo_hostname=" + options.advertise_host);
        }
        if (!options.resume.empty()) argv.push_back("--resume=" + options.resume + "/learner");
      }
      ASSIGN_OR_RETURN(auto worker,
                       ChildProcess::Spawn(name, argv,
                                           absl::StrCat(options.run_dir, "/logs/", name, ".log")));
      workers_.push_back(std::move(worker));
    }
  }
  return absl::OkStatus();
}

int LocalCluster::Stop(absl::Duration grace) {
  std::optional<int> code = 0;
  if (coordinator_ != nullptr) {
    coordinator_->Signal(SIGTERM);
    code = coordinator_->Wait(grace);
    if (!code) {
      coordinator_->Signal(SIGKILL);
      code = coordinator_->Wait(absl::Seconds(5));
    }
  }
  bool workers_ok = true;
  for (auto& worker : workers_) worker->Signal(SIGTERM);
  for (auto& worker : workers_) {
    std::optional<int> exited = worker->Wait(absl::Seconds(30));
    if (!exited) {
      worker->Signal(SIGKILL);
      worker->Wait(absl::Seconds(5));
    }
    workers_ok = workers_ok && exited == 0;
  }
  if (coordinator_ == nullptr) return workers_ok ? 0 : 1;
  return code.value_or(137);
}

void LocalCluster::Kill() {
  if (coordinator_ != nullptr) coordinator_->Signal(SIGKILL);
  for (auto& worker : workers_) worker->Signal(SIGKILL);
}

}  // namespace rein::reinctl
