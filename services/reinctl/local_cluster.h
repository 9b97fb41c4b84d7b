// The processes of one local run (reinctl up): the coordinator and every worker, started in
// order, watched, and stopped in order (coordinator first, so it can finish its iteration and
// checkpoint while the workers still serve; then the workers).
// Not thread safe: reinctl's main thread drives it.
#ifndef REIN_SERVICES_REINCTL_LOCAL_CLUSTER_H_
#define REIN_SERVICES_REINCTL_LOCAL_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "services/reinctl/child_process.h"

namespace rein::reinctl {

struct LocalClusterOptions {
  std::string config_path;  // the experiment config every process reads
  std::string run_dir;      // exists; logs go to run_dir/logs
  std::string resume;       // checkpoint folder, or empty
  std::string binary_dir;   // where rein-coordinator, rein-rollout, ... are
  // Part of a run spread over several machines by hand:
  //  - coordinator: a coordinator elsewhere ("host:port") that the workers started here join;
  //    none is started here. Empty: this cluster starts its own.
  //  - coordinator_port: the port of the coordinator started here (0 = a free one).
  //  - roles: the worker kinds started here (rollout, reward, reference, learner, feedback,
  //    reward-learner, cost-learner); empty = all the config asks for.
  //  - first_rank..last_rank: the learner ranks started here (inclusive); -1 = all.
  //  - advertise_host: the address other machines reach this one's workers at (their
  //    --advertise_host and, for learner ranks, --gloo_hostname); empty = the workers' default.
  std::string coordinator;
  int coordinator_port = 0;
  std::vector<std::string> roles;
  int first_rank = -1;
  int last_rank = -1;
  std::string advertise_host;
};

// The names LocalClusterOptions::roles may hold.
std::vector<std::string> WorkerRoleNames();

class LocalCluster {
 public:
  // Starts the coordinator, waits for its address, then starts the workers the config asks
  // for. On error, whatever was started is stopped again.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(const config::ExperimentConfig& c,
                                                             const LocalClusterOptions& options);

  const std::string& coordinator_address() const { return coordinator_address_; }
  // Whether this cluster started the coordinator (false with options.coordinator).
  bool owns_coordinator() const { return coordinator_ != nullptr; }
  // Requires owns_coordinator().
  ChildProcess& coordinator() { return *coordinator_; }
  std::vector<std::unique_ptr<ChildProcess>>& workers() { return workers_; }

  // Stops the coordinator (SIGTERM, waiting up to `grace` for it to finish its iteration and
  // checkpoint), then every worker. Returns the coordinator's exit status (without a
  // coordinator of its own: 0 if every worker exited with 0, else 1).
  int Stop(absl::Duration grace);
  // SIGKILL to every process.
  void Kill();

 private:
  LocalCluster() = default;
  absl::Status StartWorkers(const config::ExperimentConfig& c, const LocalClusterOptions& options);

  std::unique_ptr<ChildProcess> coordinator_;
  std::string coordinator_address_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
};

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_LOCAL_CLUSTER_H_
