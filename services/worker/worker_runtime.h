// What every Rein worker process (rein-rollout, rein-reward, rein-reference, rein-learner) does
// around its service: read the common flags and the experiment config, serve gRPC + /metrics,
// and register with the coordinator once the server is up.
//
//   rein-reward --config run.yaml [--port 0] [--coordinator 127.0.0.1:4000]
//               [--worker_id reward-0] [--capacity N] [--rank R] [--advertise_host HOST]
//               [--drain_grace 60s]
//
// Without --coordinator the worker serves standalone (tests, ad-hoc use). With it, the worker
// registers (role, host:port, capacity, rank) and keeps retrying until the coordinator answers
// or --register_timeout passes; a refused registration stops the worker with the reason.
//
// Cluster launchers set the environment rather than per-process flags: REIN_COORDINATOR,
// REIN_ADVERTISE_HOST and REIN_DRAIN_GRACE stand in for the flags of the same meaning when
// those are not given. --drain_grace is for schedulers that signal every process of a job at
// once (scancel, a deleted Kubernetes Job): on SIGTERM the worker keeps serving until its
// coordinator, which finishes its iteration and final checkpoint first, stops answering, or
// the grace has passed. REIN_COORDINATOR_LOST / --coordinator_lost (e.g. 30s) is for
// launchers that restart processes by themselves (Kubernetes): the worker stops with an error
// when its coordinator was restarted or has not answered that long (coordinator_watch.h), and
// its restart registers with the new coordinator.
#ifndef REIN_SERVICES_WORKER_WORKER_RUNTIME_H_
#define REIN_SERVICES_WORKER_WORKER_RUNTIME_H_

#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config/experiment_config.h"
#include "common/rpc/options.h"
#include "common/rpc/serve.h"
#include "common/rpc/server.h"
#include "common/rpc/shutdown_signal.h"
#include "rein/v1/common.pb.h"

namespace rein::worker {

// The flags and config every worker reads, resolved into options.
struct WorkerSetup {
  config::ExperimentConfig config;
  std::string worker_id;       // --worker_id, default "<role>-<host>-<pid>"
  std::string coordinator;     // --coordinator host:port; empty = standalone
  absl::Duration drain_grace;  // --drain_grace; zero stops at once on SIGTERM
  absl::Duration coordinator_lost;  // --coordinator_lost; zero never gives the coordinator up
  int capacity_override = 0;   // --capacity; 0 = the config's value for the role
  int rank = 0;                // --rank (learners)
  rpc::ServeOptions serve;     // name, server (port from --port) and metrics options
  rpc::ClientOptions client;   // for calls to the coordinator and peers
  absl::Duration register_timeout = absl::Minutes(2);
};

// Reads the parsed absl flags (call after absl::ParseCommandLine) and the config file they name.
// `role_name` (e.g. "rollout") names the process in logs and the default worker id.
// INVALID_ARGUMENT when --config is missing; the config's own errors otherwise.
absl::StatusOr<WorkerSetup> LoadWorkerSetup(absl::string_view role_name);

// Registers with the coordinator at setup.coordinator, retrying UNAVAILABLE until
// setup.register_timeout. Any other error (e.g. INVALID_ARGUMENT) is returned at once. Returns
// the coordinator's incarnation.
absl::StatusOr<std::string> RegisterWithCoordinator(const WorkerSetup& setup, rein::v1::Role role,
                                     const std::string& address, int capacity);

// Serves `services` until SIGTERM/SIGINT, registering with the coordinator (if any) once the
// server is up. The address registered is <advertised host>:<chosen port>. UNAVAILABLE when
// the worker stopped because its coordinator was lost (setup.coordinator_lost).
absl::Status ServeWorker(const WorkerSetup& setup, rein::v1::Role role, int capacity,
                         std::vector<rpc::ServiceBinding> services,
                         std::shared_ptr<prometheus::Registry> registry,
                         rpc::ShutdownSignal& shutdown);

}  // namespace rein::worker

#endif  // REIN_SERVICES_WORKER_WORKER_RUNTIME_H_
