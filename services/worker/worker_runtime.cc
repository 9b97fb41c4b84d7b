#include "services/worker/worker_runtime.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/rpc/client.h"
#include "common/rpc/config_options.h"
#include "common/rpc/serve.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/worker/coordinator_watch.h"
#include "rein/v1/coordinator.grpc.pb.h"

ABSL_FLAG(std::string, config, "", "Experiment config file (YAML). Required.");
ABSL_FLAG(int, port, 0, "gRPC port; 0 picks a free one (announced on stdout).");
ABSL_FLAG(std::string, coordinator, "",
          "Coordinator host:port to register with; default $REIN_COORDINATOR; empty serves "
          "standalone.");
ABSL_FLAG(std::string, worker_id, "", "Stable id of this worker; default <role>-<host>-<pid>.");
ABSL_FLAG(int, capacity, 0, "Sequences per call; 0 takes the config's value for the role.");
ABSL_FLAG(int, rank, 0, "Learner rank (0 .. ranks-1); ignored by other roles.");
ABSL_FLAG(int, metrics_port, -1, "Port of /metrics; -1 takes server.metrics_port (0 = free).");
ABSL_FLAG(std::string, advertise_host, "",
          "Host the coordinator should dial; default $REIN_ADVERTISE_HOST, else server.host, or "
          "this machine's host name when server.host is a wildcard (0.0.0.0).");
ABSL_FLAG(absl::Duration, coordinator_lost, absl::ZeroDuration(),
          "Stop with an error when the coordinator was restarted or has not answered this long "
          "(for launchers that restart processes, e.g. Kubernetes); default $REIN_COORDINATOR_LOST, "
          "else 0 (never).");
ABSL_FLAG(absl::Duration, drain_grace, absl::ZeroDuration(),
          "On SIGTERM, keep serving until the coordinator stops answering, at most this long "
          "(for schedulers that signal every process at once); default $REIN_DRAIN_GRACE, else "
          "0 (stop at once).");

namespace rein::worker {
namespace {

// A flag's value, or the environment variable standing in for it when the flag is empty.
std::string FlagOrEnv(const std::string& flag, const char* variable) {
  if (!flag.empty()) return flag;
  const char* value = std::getenv(variable);
  return value == nullptr ? "" : value;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') return name;
  return "localhost";
}

// The host peers dial: a wildcard bind address is not dialable, the host name is.
std::string AdvertisedHost(const std::string& bind_host) {
  const std::string chosen =
      FlagOrEnv(absl::GetFlag(FLAGS_advertise_host), "REIN_ADVERTISE_HOST");
  if (!chosen.empty()) return chosen;
  if (bind_host != "0.0.0.0" && bind_host != "::" && bind_host != "[::]") return bind_host;
  return HostName();
}

// A duration flag, or the environment variable standing in for it when the flag is zero;
// between 0 and 1 hour.
absl::StatusOr<absl::Duration> DurationFlagOrEnv(absl::Duration flag, const char* flag_name,
                                                 const char* variable) {
  absl::Duration value = flag;
  const char* env = std::getenv(variable);
  if (value == absl::ZeroDuration() && env != nullptr && *env != '\0' &&
      !absl::ParseDuration(env, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(variable, " must be a duration such as 60s, not '",
                                                   absl::string_view(env).substr(0, 32), "'"));
  }
  if (value < absl::ZeroDuration() || value > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag_name, " must be between 0 and 1h"));
  }
  return value;
}

// On SIGTERM with a grace: serve on while the coordinator answers (it is finishing its
// iteration and final checkpoint, which needs this worker), then let the server stop.
void DrainWhileCoordinatorLives(const WorkerSetup& setup, int signal) {
  if (signal == 0 || setup.coordinator.empty() || setup.drain_grace <= absl::ZeroDuration()) {
    return;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      rpc::CreateChannel(setup.coordinator, setup.client);
  if (!channel.ok()) return;
  REIN_LOG(INFO, "worker") << "signal " << signal << ": serving until coordinator "
                           << setup.coordinator << " stops answering (at most "
                           << absl::FormatDuration(setup.drain_grace) << ")";
  const absl::Time give_up = absl::Now() + setup.drain_grace;
  while (absl::Now() < give_up &&
         rpc::CheckHealth(**channel, setup.client, "", absl::Seconds(2)).ok()) {
    absl::SleepFor(absl::Milliseconds(250));
  }
}

}  // namespace

absl::StatusOr<WorkerSetup> LoadWorkerSetup(absl::string_view role_name) {
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (config_path.empty()) return absl::InvalidArgumentError("--config is required");
  WorkerSetup setup;
  ASSIGN_OR_RETURN(setup.config, config::LoadExperimentConfig(config_path));
  setup.worker_id = absl::GetFlag(FLAGS_worker_id);
  // The host name keeps ids unique across the machines of a cluster.
  if (setup.worker_id.empty()) {
    setup.worker_id = absl::StrCat(role_name, "-", HostName(), "-", getpid());
  }
  setup.coordinator = FlagOrEnv(absl::GetFlag(FLAGS_coordinator), "REIN_COORDINATOR");
  ASSIGN_OR_RETURN(setup.drain_grace, DurationFlagOrEnv(absl::GetFlag(FLAGS_drain_grace),
                                                        "drain_grace", "REIN_DRAIN_GRACE"));
  ASSIGN_OR_RETURN(setup.coordinator_lost,
                   DurationFlagOrEnv(absl::GetFlag(FLAGS_coordinator_lost), "coordinator_lost",
                                     "REIN_COORDINATOR_LOST"));
  setup.capacity_override = absl::GetFlag(FLAGS_capacity);
  if (setup.capacity_override < 0) return absl::InvalidArgumentError("--capacity must be >= 0");
  setup.rank = absl::GetFlag(FLAGS_rank);
  if (setup.rank < 0) return absl::InvalidArgumentError("--rank must be >= 0");

  setup.serve.name = setup.worker_id;
  ASSIGN_OR_RETURN(setup.serve.server, rpc::ServerOptionsFromConfig(setup.config.server));
  setup.serve.server.port = absl::GetFlag(FLAGS_port);
  setup.serve.metrics.host = setup.config.server.host;
  const int metrics_port = absl::GetFlag(FLAGS_metrics_port);
  setup.serve.metrics.port = metrics_port >= 0 ? metrics_port : setup.config.server.metrics_port;
  ASSIGN_OR_RETURN(setup.client,
                   rpc::ClientOptionsFromConfig(setup.config.server, rpc::AuthRole::kWorker));
  return setup;
}

absl::StatusOr<std::string> RegisterWithCoordinator(const WorkerSetup& setup,
                                                    rein::v1::Role role,
                                                    const std::string& address, int capacity) {
  ASSIGN_OR_RETURN(auto channel, rpc::CreateChannel(setup.coordinator, setup.client));
  auto stub = rein::v1::Coordinator::NewStub(channel);
  rein::v1::RegisterRequest request;
  request.set_role(role);
  request.set_address(address);
  request.set_capacity(static_cast<uint32_t>(capacity));
  request.set_worker_id(setup.worker_id);
  request.set_rank(static_cast<uint32_t>(setup.rank));
  const absl::Time give_up = absl::Now() + setup.register_timeout;
  while (true) {
    // Wait-for-ready: a coordinator that is still starting is waited for, not an error.
    auto context = rpc::NewCallContext(setup.client, absl::Seconds(10));
    context->set_wait_for_ready(true);
    rein::v1::RegisterResponse response;
    grpc::Status status = stub->Register(context.get(), request, &response);
    if (status.ok()) {
      REIN_LOG(INFO, "worker") << rpc::kRegisteredMarker << setup.coordinator << " as "
                               << setup.worker_id << " (" << response.workers_in_role()
                               << " in role)";
      return response.coordinator_incarnation();
    }
    const bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!transient || absl::Now() > give_up) {
      return FromGrpcStatus(status, absl::StrCat("registering with coordinator ",
                                                         setup.coordinator));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::Status ServeWorker(const WorkerSetup& setup, rein::v1::Role role, int capacity,
                         std::vector<rpc::ServiceBinding> services,
                         std::shared_ptr<prometheus::Registry> registry,
                         rpc::ShutdownSignal& shutdown) {
  rpc::ServeOptions serve = setup.serve;
  serve.before_stop = [&setup](int signal) { DrainWhileCoordinatorLives(setup, signal); };
  std::unique_ptr<CoordinatorWatch> watch;
  absl::Mutex lost_mu;
  std::optional<std::string> lost;  // why the watch stopped the worker ("" = the run ended)
  absl::Status served =
      rpc::Serve(serve, std::move(services), std::move(registry), shutdown,
                 [&](const rpc::Server& server) -> absl::Status {
                   if (setup.coordinator.empty()) return absl::OkStatus();
                   const std::string address = absl::StrCat(
                       AdvertisedHost(setup.config.server.host), ":", server.port());
                   ASSIGN_OR_RETURN(std::string incarnation,
                                    RegisterWithCoordinator(setup, role, address, capacity));
                   if (setup.coordinator_lost <= absl::ZeroDuration()) return absl::OkStatus();
                   watch = std::make_unique<CoordinatorWatch>(
                       setup.coordinator, setup.client, std::move(incarnation),
                       setup.coordinator_lost, [&](const std::string& reason) {
                         {
                           absl::MutexLock lock(&lost_mu);
                           lost = reason;
                         }
                         REIN_LOG(WARNING, "worker")
                             << (reason.empty() ? "the run ended; stopping" : reason);
                         shutdown.RequestShutdown();
                       });
                   return absl::OkStatus();
                 });
  watch.reset();
  absl::MutexLock lock(&lost_mu);
  if (served.ok() && lost && !lost->empty()) return absl::UnavailableError(*lost);
  return served;
}

}  // namespace rein::worker
