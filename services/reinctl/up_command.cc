#include "services/reinctl/up_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/files/file_util.h"
#include "common/files/run_folder.h"
#include "common/rpc/client.h"
#include "common/rpc/config_options.h"
#include "common/rpc/serve.h"
#include "common/status/status_macros.h"
#include "rein/v1/coordinator.grpc.pb.h"
#include "services/reinctl/command_util.h"
#include "services/reinctl/local_cluster.h"
#include "services/reinctl/run_status_format.h"

namespace rein::reinctl {
namespace {

namespace fs = std::filesystem;

struct UpFlags {
  std::string config;
  std::string run_dir;
  std::string resume;
  int max_restarts = 3;
  // Several machines by hand (LocalClusterOptions).
  bool workers_only = false;
  std::string coordinator;
  int coordinator_port = 0;
  std::vector<std::string> roles;
  std::string ranks;  // "A-B" or "A"
  std::string advertise_host;
};

// --ranks "A-B" (or "A") into options.first_rank/last_rank.
absl::Status ParseRanks(const std::string& ranks, int world_size, LocalClusterOptions& options) {
  if (ranks.empty()) return absl::OkStatus();
  std::pair<std::string, std::string> parts = absl::StrSplit(ranks, absl::MaxSplits('-', 1));
  if (parts.second.empty()) parts.second = parts.first;
  int first = 0, last = 0;
  if (!absl::SimpleAtoi(parts.first, &first) || !absl::SimpleAtoi(parts.second, &last) ||
      first < 0 || last < first || last >= world_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ranks must be A-B with 0 <= A <= B < learner.ranks (", world_size, "), not '",
        absl::string_view(ranks).substr(0, 32), "'"));
  }
  options.first_rank = first;
  options.last_rank = last;
  return absl::OkStatus();
}

std::atomic<int> interrupts{0};

extern "C" void OnInterrupt(int) { interrupts.fetch_add(1); }

void InstallInterruptHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string BinaryDir() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? "." : self.parent_path().string();
}

// <output_dir>/<name>, or the first of <name>-2, <name>-3, ... not taken: a run never writes
// into an earlier run's folder.
std::string FreshRunDir(const config::ExperimentConfig& c) {
  const fs::path base = fs::path(c.run.output_dir) / c.run.name;
  fs::path dir = base;
  for (int n = 2; fs::exists(dir); ++n) dir = base.string() + "-" + std::to_string(n);
  return dir.string();
}

absl::Status PrepareRunDir(const config::ExperimentConfig& c, const std::string& run_dir,
                           bool link_latest) {
  std::error_code error;
  fs::create_directories(fs::path(run_dir) / "logs", error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create '", run_dir, "/logs': ",
                                            error.message()));
  }
  std::ofstream(run_dir + "/config.yaml") << config::ExperimentConfigYaml(c);
  // A reused or resumed run's folder holds the final status, the coordinator's address and the
  // process ids of the run before: none of them is this run's.
  for (const char* stale : {"status.json", "coordinator.address", "pids"}) {
    fs::remove(fs::path(run_dir) / stale, error);
  }
  if (link_latest) {
    const fs::path latest = fs::path(c.run.output_dir) / "latest";
    fs::remove(latest, error);
    fs::create_directory_symlink(fs::path(run_dir).filename(), latest, error);
  }
  return absl::OkStatus();
}

// Polls the coordinator and prints the progress line: rewritten in place on a terminal, one
// line per completed iteration otherwise (logs, CI).
class ProgressPrinter {
 public:
  ProgressPrinter(const std::string& address, const rpc::ClientOptions& options)
      : options_(options), tty_(isatty(STDOUT_FILENO) != 0) {
    auto channel = rpc::CreateChannel(address, options);
    if (channel.ok()) stub_ = rein::v1::Coordinator::NewStub(*channel);
  }

  void Update() {
    if (!stub_) return;
    auto context = rpc::NewCallContext(options_, absl::Seconds(5));
    rein::v1::RunStatus status;
    reachable_ = stub_->Status(context.get(), rein::v1::StatusRequest(), &status).ok();
    if (!reachable_) return;
    last_ = status;
    const std::string line = FormatRunStatus(status, /*with_ratings=*/false);
    if (tty_) {
      std::printf("\r\033[K%s", line.c_str());
    } else if (status.iteration() != printed_iteration_ || status.state() != printed_state_) {
      std::printf("%s\n", line.c_str());
      printed_iteration_ = status.iteration();
      printed_state_ = status.state();
    }
    std::fflush(stdout);
  }

  void Finish() {
    if (tty_) std::printf("\n");
  }
  const std::optional<rein::v1::RunStatus>& last() const { return last_; }
  // Whether the last Update reached the coordinator.
  bool reachable() const { return reachable_; }

 private:
  rpc::ClientOptions options_;
  bool tty_;
  std::unique_ptr<rein::v1::Coordinator::Stub> stub_;
  std::optional<rein::v1::RunStatus> last_;
  bool reachable_ = false;
  uint64_t printed_iteration_ = UINT64_MAX;
  rein::v1::RunState printed_state_ = rein::v1::RUN_STATE_UNSPECIFIED;
};

// Reports workers that exited; true if one failed before the run started (it cannot start).
// After the start, the coordinator deals with a lost worker (its work goes to the others).
bool ReportExitedWorkers(LocalCluster& cluster, std::set<std::string>& reported,
                         ProgressPrinter& progress) {
  bool fatal = false;
  for (auto& worker : cluster.workers()) {
    std::optional<int> code = worker->Poll();
    if (!code || reported.count(worker->name())) continue;
    reported.insert(worker->name());
    progress.Update();  // The state right now, not as of the last poll.
    const std::optional<rein::v1::RunStatus>& status = progress.last();
    std::fprintf(stderr, "\n%s exited with status %d; its log (%s) ends:\n%s\n",
                 worker->name().c_str(), *code, worker->log_path().c_str(),
                 worker->LogTail(10).c_str());
    const bool started = status && status->state() != rein::v1::RUN_STATE_WAITING_FOR_WORKERS &&
                         status->state() != rein::v1::RUN_STATE_UNSPECIFIED;
    fatal = fatal || !started;
  }
  return fatal;
}

// <run>/prometheus_targets.json: every process's /metrics address in Prometheus' file-based
// service discovery format (deploy/prometheus/prometheus.yml reads it). Written once every
// worker has announced its metrics port, i.e. when the run has left WAITING_FOR_WORKERS.
// <run.output_dir>/prometheus/<run folder name>.json: a live run's targets, for
// deploy/prometheus/prometheus.yml.
fs::path LiveTargetsFile(const std::string& output_dir, const std::string& run_dir) {
  return fs::path(output_dir) / "prometheus" /
         (fs::absolute(run_dir).lexically_normal().filename().string() + ".json");
}

absl::Status WritePrometheusTargets(LocalCluster& cluster, const std::string& run_dir,
                                    const std::string& output_dir, const std::string& run_name) {
  nlohmann::json targets = nlohmann::json::array();
  auto add = [&](ChildProcess& process, const std::string& role) -> absl::Status {
    ASSIGN_OR_RETURN(std::string address,
                     process.WaitForLogLine(rpc::kMetricsMarker, absl::Seconds(5)));
    targets.push_back({{"targets", {address}},
                       {"labels",
                        {{"rein_run", run_name}, {"rein_process", process.name()},
                         {"rein_role", role}}}});
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(add(cluster.coordinator(), "coordinator"));
  for (auto& worker : cluster.workers()) {
    RETURN_IF_ERROR(add(*worker, worker->name().substr(0, worker->name().rfind('-'))));
  }
  std::ofstream(run_dir + "/prometheus_targets.json") << targets.dump(2) << "\n";
  // Prometheus' file discovery globs file names only, so live runs are also listed together in
  // one folder (removed again when the run ends).
  std::error_code error;
  fs::create_directories(LiveTargetsFile(output_dir, run_dir).parent_path(), error);
  std::ofstream(LiveTargetsFile(output_dir, run_dir)) << targets.dump(2) << "\n";
  return absl::OkStatus();
}

// How watching one incarnation of the cluster ended.
struct Watched {
  std::optional<int> exit_code;  // the run's, when watching ends with it (else the coordinator's)
  int coordinator_code = 0;
  bool interrupted = false;      // Ctrl-C asked for the stop
};

// Whether a worker here has registered with the coordinator (its log says so).
bool AnyRegistered(LocalCluster& cluster) {
  for (const auto& worker : cluster.workers()) {
    if (worker->LogContains(rpc::kRegisteredMarker)) return true;
  }
  return false;
}

// Workers joined to a coordinator on another machine: shows its progress and stops the
// workers here once it is gone (the run ended there) or on Ctrl-C; a worker that exits is
// reported. Returns reinctl's exit status.
int WatchWorkersOnly(LocalCluster& cluster, const rpc::ClientOptions& client) {
  ProgressPrinter progress(cluster.coordinator_address(), client);
  std::set<std::string> reported;
  absl::Time last_seen = absl::Now();
  bool seen = false;
  while (true) {
    if (interrupts.load() > 0) {
      std::fprintf(stderr, "\nstopping the workers on this machine\n");
      break;
    }
    ReportExitedWorkers(cluster, reported, progress);
    if (reported.size() == cluster.workers().size()) break;
    progress.Update();
    if (progress.reachable()) {
      seen = true;
      last_seen = absl::Now();
    } else if (!seen && AnyRegistered(cluster)) {
      // A run shorter than this loop's polls (or the channel's reconnect backoff) may come
      // and go unseen here, but not unseen by the workers it took.
      seen = true;
      last_seen = absl::Now();
    } else if (seen && absl::Now() - last_seen > absl::Seconds(10)) {
      std::printf("\ncoordinator %s is gone (the run ended there); stopping the workers here\n",
                  cluster.coordinator_address().c_str());
      break;
    }
    absl::SleepFor(absl::Seconds(1));
  }
  progress.Finish();
  const int code = cluster.Stop(absl::Seconds(30));
  std::printf("workers stopped (%s)\n", code == 0 ? "all exited cleanly" : "some failed");
  return code;
}

// Starts the cluster and notes its processes in the run folder (pids, coordinator.address).
absl::StatusOr<std::unique_ptr<LocalCluster>> StartCluster(const config::ExperimentConfig& c,
                                                           const LocalClusterOptions& options) {
  const std::string& run_dir = options.run_dir;
  const std::string address_file = run_dir + "/coordinator.address";
  // The address of this run's coordinator before a restart (PrepareRunDir removed any older
  // one) must not be read while the new one starts: its port may belong to another process by
  // now, which `reinctl status` or `pause` would then talk to.
  std::error_code error;
  fs::remove(address_file, error);
  ASSIGN_OR_RETURN(std::unique_ptr<LocalCluster> cluster, LocalCluster::Start(c, options));
  const std::string address_line = cluster->coordinator_address() + "\n";
  RETURN_IF_ERROR(files::WriteFileAtomically(address_file, [&](int fd) {
    return files::WriteAll(fd, address_line.data(), address_line.size(), address_file);
  }));
  std::ofstream pids(run_dir + "/pids");  // "name pid" per process, for operators and tests
  if (cluster->owns_coordinator()) pids << "coordinator " << cluster->coordinator().pid() << "\n";
  for (const auto& worker : cluster->workers()) {
    pids << worker->name() << " " << worker->pid() << "\n";
  }
  if (cluster->owns_coordinator()) {
    std::printf("coordinator on %s; %zu workers starting (reinctl status --run %s)\n",
                cluster->coordinator_address().c_str(), cluster->workers().size(),
                run_dir.c_str());
  } else {
    std::printf("%zu workers starting, joining coordinator %s\n", cluster->workers().size(),
                cluster->coordinator_address().c_str());
  }
  std::fflush(stdout);
  return cluster;
}

// Shows progress until the coordinator exits (or Ctrl-C twice kills everything, or a worker
// fails before the run started), then stops the workers.
Watched WatchCluster(LocalCluster& cluster, const config::ExperimentConfig& c,
                     const rpc::ClientOptions& client, const std::string& run_dir,
                     int& seen_interrupts) {
  ProgressPrinter progress(cluster.coordinator_address(), client);
  std::set<std::string> reported;
  absl::Time next_poll = absl::InfinitePast();
  bool targets_written = false;
  Watched watched;
  while (!cluster.coordinator().Poll()) {
    if (interrupts.load() > seen_interrupts) {
      seen_interrupts = interrupts.load();
      watched.interrupted = true;
      if (seen_interrupts >= 2) {
        std::fprintf(stderr, "\nkilling every process of the run\n");
        cluster.Kill();
        watched.exit_code = 130;
        return watched;
      }
      std::fprintf(stderr, "\nstopping after the current iteration (Ctrl-C again to kill)\n");
      cluster.coordinator().Signal(SIGTERM);
    }
    if (ReportExitedWorkers(cluster, reported, progress)) {
      std::fprintf(stderr, "a worker failed before the run started; stopping\n");
      cluster.Stop(absl::Seconds(30));
      watched.exit_code = 1;
      return watched;
    }
    if (absl::Now() >= next_poll) {
      progress.Update();
      next_poll = absl::Now() + absl::Seconds(1);
      const bool started = progress.last() && progress.last()->state() !=
                                                  rein::v1::RUN_STATE_WAITING_FOR_WORKERS;
      if (started && !targets_written) {
        targets_written = true;
        absl::Status written = WritePrometheusTargets(cluster, run_dir, c.run.output_dir, c.run.name);
        if (!written.ok()) {
          std::fprintf(stderr, "\nprometheus_targets.json not written: %s\n",
                       std::string(written.message()).c_str());
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  progress.Finish();
  watched.coordinator_code = cluster.Stop(absl::Minutes(10));
  return watched;
}

// With per-role tokens, a run that starts its own coordinator makes the tokens it lacks; every
// child then reads its own role's from the same config (workers the worker token, the
// coordinator the operator's). Workers joining a coordinator elsewhere must have its tokens.
// Returns the options reinctl up polls the run's status with: it needs no more than the
// worker's token where it only joins.
absl::StatusOr<rpc::ClientOptions> PrepareCredentials(const UpFlags& flags,
                                                      const config::ExperimentConfig& c) {
  if (!flags.coordinator.empty()) {
    return rpc::ClientOptionsFromConfig(c.server, rpc::AuthRole::kWorker);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> created, rpc::CreateMissingRoleTokens(c.server.auth));
  for (const std::string& key : created) {
    std::fprintf(stderr, "generated a token for %s\n", key.c_str());
  }
  return rpc::ClientOptionsFromConfig(c.server, rpc::AuthRole::kOperator);
}

int RunUp(const UpFlags& flags) {
  absl::StatusOr<config::ExperimentConfig> c = config::LoadExperimentConfig(flags.config);
  if (!c.ok()) {
    std::fprintf(stderr, "%s\n", std::string(c.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<rpc::ClientOptions> client = PrepareCredentials(flags, *c);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", std::string(client.status().message()).c_str());
    return 2;
  }
  const bool default_dir = flags.run_dir.empty();
  const std::string run_dir = default_dir ? FreshRunDir(*c) : flags.run_dir;
  if (absl::Status prepared = PrepareRunDir(*c, run_dir, default_dir && !flags.workers_only);
      !prepared.ok()) {
    std::fprintf(stderr, "%s\n", std::string(prepared.message()).c_str());
    return 2;
  }
  InstallInterruptHandlers();
  // However the run ends, Prometheus should stop looking for its processes.
  absl::Cleanup forget_targets = [&] {
    std::error_code error;
    fs::remove(LiveTargetsFile(c->run.output_dir, run_dir), error);
  };
  LocalClusterOptions options;
  options.config_path = flags.config;
  options.run_dir = run_dir;
  options.resume = flags.resume;
  options.binary_dir = BinaryDir();
  options.coordinator = flags.coordinator;
  options.coordinator_port = flags.coordinator_port;
  options.roles = flags.roles;
  options.advertise_host = flags.advertise_host;
  if (absl::Status ranks = ParseRanks(flags.ranks, c->learner.ranks, options); !ranks.ok()) {
    std::fprintf(stderr, "%s\n", std::string(ranks.message()).c_str());
    return 2;
  }
  std::printf("run folder: %s (logs in %s/logs)\n", run_dir.c_str(), run_dir.c_str());
  std::fflush(stdout);
  if (flags.workers_only) {
    absl::StatusOr<std::unique_ptr<LocalCluster>> cluster = StartCluster(*c, options);
    if (!cluster.ok()) {
      std::fprintf(stderr, "reinctl up: %s\n", std::string(cluster.status().message()).c_str());
      return 1;
    }
    return WatchWorkersOnly(**cluster, *client);
  }
  int seen_interrupts = 0;
  Watched watched;
  for (int restarts = 0;; ++restarts) {
    absl::StatusOr<std::unique_ptr<LocalCluster>> cluster = StartCluster(*c, options);
    if (!cluster.ok()) {
      std::fprintf(stderr, "reinctl up: %s\n", std::string(cluster.status().message()).c_str());
      return 1;
    }
    watched = WatchCluster(**cluster, *c, *client, run_dir, seen_interrupts);
    if (watched.exit_code) return *watched.exit_code;
    // A coordinator that died (killed, crashed) wrote no final status: the run goes on from
    // its newest checkpoint with a fresh cluster, like torchrun's --max-restarts. One that
    // ended the run itself (finished, stopped, failed) is never restarted.
    const bool died = watched.coordinator_code != 0 && !ReadFinalStatus(run_dir).has_value();
    if (!died || watched.interrupted || restarts >= flags.max_restarts) {
      if (died) {
        std::fprintf(stderr, "the coordinator's log ends:\n%s\n",
                     (*cluster)->coordinator().LogTail(15).c_str());
      }
      break;
    }
    const std::string latest = files::NewestCheckpoint(run_dir);
    if (!latest.empty()) options.resume = latest;
    // On stdout with the progress: it is what the run did, and logs capture it there.
    std::printf("the coordinator died (exit status %d); restarting the whole run from %s "
                "(restart %d of %d)\n",
                watched.coordinator_code,
                options.resume.empty() ? "the start" : options.resume.c_str(), restarts + 1,
                flags.max_restarts);
    std::fflush(stdout);
  }
  const int code = watched.coordinator_code;
  // How it ended, as the coordinator recorded it (a stop request ends a run "stopped").
  std::optional<rein::v1::RunStatus> final_status = ReadFinalStatus(run_dir);
  std::string ended = code == 0 ? "finished" : "failed";
  if (final_status) ended = absl::AsciiStrToLower(RunStateName(final_status->state()));
  std::printf("run %s (coordinator exit status %d); stats in %s/stats.jsonl, checkpoints in "
              "%s/checkpoints\n",
              ended.c_str(), code, run_dir.c_str(), run_dir.c_str());
  return code == 0 ? 0 : 1;
}

}  // namespace

void AddUpCommand(CLI::App& app) {
  auto flags = std::make_shared<UpFlags>();
  CLI::App* up = app.add_subcommand(
      "up", "Run a whole cluster (coordinator and every worker) on this machine, or part of one "
      "spread over several machines (--workers-only, --roles, --ranks)");
  up->add_option("--config", flags->config, "Experiment config (YAML)")->required();
  up->add_option("--run-dir", flags->run_dir,
                 "Run folder; default <run.output_dir>/<run.name> (made unique)");
  up->add_option("--resume", flags->resume, "Checkpoint folder, or run folder (its newest checkpoint), to resume from");
  up->add_option("--max-restarts", flags->max_restarts,
                 "Times a coordinator that dies is restarted, with every worker, from the newest "
                 "checkpoint")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  // Several machines without a scheduler: one runs the coordinator (and maybe some workers),
  // the others join it with --workers-only.
  up->add_flag("--workers-only", flags->workers_only,
               "Start no coordinator: only workers, joining --coordinator on another machine");
  up->add_option("--coordinator", flags->coordinator,
                 "HOST:PORT of the coordinator to join (with --workers-only)");
  up->add_option("--coordinator-port", flags->coordinator_port,
                 "Port of the coordinator started here; 0 = a free one")
      ->check(CLI::Range(0, 65535));
  up->add_option("--roles", flags->roles,
                 "Worker kinds to start here (default: every kind the config asks for)")
      ->delimiter(',')
      ->check(CLI::IsMember(WorkerRoleNames()));
  up->add_option("--ranks", flags->ranks, "Learner ranks to start here, A-B or A (default all)");
  up->add_option("--advertise-host", flags->advertise_host,
                 "Address other machines reach this machine's workers at");
  up->callback([flags] {
    if (flags->workers_only == flags->coordinator.empty()) {
      throw CLI::ValidationError("--workers-only and --coordinator go together");
    }
    ExitWith(RunUp(*flags));
  });
}

}  // namespace rein::reinctl
