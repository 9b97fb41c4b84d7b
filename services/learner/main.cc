// rein-learner: holds the policy (and in ppo the critic) with their optimisers and trains on the
// batches the coordinator sends; pushes new weights to rollout replicas and writes checkpoints.
//
//   rein-learner --config run.yaml [--port 0] [--coordinator host:port] [--worker_id learner-0]
//                [--capacity N] [--rank 0] [--metrics_port -1] [--resume DIR]
//                [--dist_group_id learner] [--collective_timeout 5m] [--gloo_hostname HOST]
//                [--reward_model_learner | --cost_model_learner] [--checkpoint_root DIR[,DIR...]]
//
// learner.mode in the config picks what it trains (sft, reward-model, ppo, grpo, rloo,
// reinforce++). --resume DIR continues from a checkpoint written by SaveCheckpoint (weights,
// optimiser, schedule, RNG, policy version and last iteration) instead of loading model.policy.
// --reward_model_learner makes it the reward-model learner of a run with rounds (role
// REWARD_LEARNER): reward-model mode with rounds.reward_model's settings, whatever
// learner.mode says (RewardLearnerOptionsFromConfig); --cost_model_learner likewise trains the
// cost model from flags (role COST_LEARNER, CostLearnerOptionsFromConfig).
// SaveCheckpoint and Restore take folders under a --checkpoint_root only (default
// run.output_dir; reinctl up and the launchers pass the run folder).
//
// Data-parallel ranks (learner.ranks = R > 1): start R processes on any hosts, rank r with
// --rank r (or RANK=r). They rendezvous at MASTER_ADDR:MASTER_PORT (a TCPStore on rank 0) when
// the launcher sets those, else through the coordinator's key-value store under
// --dist_group_id (use a fresh id when re-forming a group against a long-lived coordinator).
// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT and GLOO_SOCKET_IFNAME are read in
// common/dist/rendezvous.cc only. The group forms (weights broadcast from rank 0) before the
// server starts; every collective fails after --collective_timeout instead of hanging.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/dist/rendezvous.h"
#include "common/files/run_folder.h"
#include "common/log/log.h"
#include "common/process/process_setup.h"
#include "common/rpc/shutdown_signal.h"
#include "common/status/status_macros.h"
#include "services/learner/checkpoint_io.h"
#include "services/learner/learner.h"
#include "services/learner/learner_options.h"
#include "common/rpc/auth_roles.h"
#include "services/learner/learner_service.h"
#include "services/worker/worker_model.h"
#include "services/worker/worker_runtime.h"

ABSL_FLAG(std::string, dist_group_id, "learner",
          "Data-parallel ranks: namespace of the group's keys in the coordinator's store.");
ABSL_FLAG(absl::Duration, collective_timeout, absl::Minutes(5),
          "Data-parallel ranks: longest wait for the group to form or for one collective.");
ABSL_FLAG(std::string, gloo_hostname, "",
          "Data-parallel ranks (Gloo): host name or address peers reach this rank's Gloo "
          "sockets at; empty uses GLOO_SOCKET_IFNAME, else this host's name.");
ABSL_FLAG(std::string, resume, "",
          "Checkpoint folder (from SaveCheckpoint) to continue from, or a run folder (the "
          "learner/ part of its newest checkpoint; none: start from model.policy); empty starts "
          "from model.policy.");

ABSL_FLAG(absl::Duration, push_timeout, absl::ZeroDuration(),
          "Deadline of a weight push to each rollout replica; 0 sizes it from the weights "
          "(30 s + 1 s per 64 MiB). A replica that misses it is named in the push's error and "
          "the coordinator takes it out of the run if it no longer answers health checks.");

ABSL_FLAG(std::string, checkpoint_root, "",
          "Comma-separated folders under which SaveCheckpoint may write and Restore may read "
          "(the run folder); default run.output_dir.");
ABSL_FLAG(bool, reward_model_learner, false,
          "Train the reward model of each round of a run with rounds (not the policy).");
ABSL_FLAG(bool, cost_model_learner, false,
          "Train the cost model of each round of a run with rounds from people's flags.");

namespace rein::learner {
namespace {

// --resume as a learner checkpoint (its manifest.json), or as what files::ResolveResume takes
// (a run checkpoint, whose learner/ part this is, or a run folder); "" for a fresh start.
absl::StatusOr<std::string> ResumeFolder() {
  const std::string given = absl::GetFlag(FLAGS_resume);
  std::error_code error;
  if (given.empty() || std::filesystem::exists(given + "/manifest.json", error)) return given;
  ASSIGN_OR_RETURN(std::string folder, files::ResolveResume(given, "learner"));
  if (folder.empty()) {
    REIN_LOG(INFO, "learner") << "no checkpoint in " << given << " yet: starting from model.policy";
  }
  return folder;
}

absl::Status RunLearner(rpc::ShutdownSignal& shutdown) {
  ASSIGN_OR_RETURN(worker::WorkerSetup setup, worker::LoadWorkerSetup("learner"));
  log::SetMinLevel(setup.config.run.log_level);
  const bool reward_learner = absl::GetFlag(FLAGS_reward_model_learner);
  const bool cost_learner = absl::GetFlag(FLAGS_cost_model_learner);
  if ((reward_learner || cost_learner) && setup.config.rounds.count == 0) {
    return absl::InvalidArgumentError(
        "--reward_model_learner and --cost_model_learner train the models of rounds: set "
        "rounds.count");
  }
  if (reward_learner && cost_learner) {
    return absl::InvalidArgumentError(
        "--reward_model_learner and --cost_model_learner are two processes");
  }
  LearnerOptions options = reward_learner ? RewardLearnerOptionsFromConfig(setup.config)
                           : cost_learner ? CostLearnerOptionsFromConfig(setup.config)
                                          : LearnerOptionsFromConfig(setup.config);
  RETURN_IF_ERROR(CheckLearnerOptions(options));
  // The model goes on the GPU the rank's NCCL communicator uses (LOCAL_RANK). A launcher that
  // gives each task only its own GPU sets LOCAL_RANK 0 (or leaves it unset).
  ASSIGN_OR_RETURN(const dist::LauncherEnv launcher, dist::ReadLauncherEnv());
  options.cuda_device = launcher.local_rank.value_or(0);
  RETURN_IF_ERROR(worker::CheckModelDevice(options.model, options.cuda_device));
  ASSIGN_OR_RETURN(const std::string resume, ResumeFolder());
  std::unique_ptr<LearnerState> state;
  if (resume.empty()) {
    ASSIGN_OR_RETURN(state, LearnerState::Create(options));
  } else {
    ASSIGN_OR_RETURN(state, LoadLearnerCheckpoint(resume, options));
  }
  if (options.learner.ranks > 1) {
    dist::RendezvousOptions flags;
    flags.rank = setup.rank;
    flags.world_size = options.learner.ranks;
    flags.coordinator = setup.coordinator;
    flags.client = setup.client;
    flags.group_id = absl::GetFlag(FLAGS_dist_group_id);
    flags.backend = options.learner.backend == config::CollectiveBackend::kGloo
                        ? dist::Backend::kGloo
                        : options.learner.backend == config::CollectiveBackend::kNccl
                              ? dist::Backend::kNccl
                              : dist::Backend::kAuto;
    flags.cuda = options.model.device == config::Device::kCuda;
    flags.timeout = absl::GetFlag(FLAGS_collective_timeout);
    flags.gloo_hostname = absl::GetFlag(FLAGS_gloo_hostname);
    ASSIGN_OR_RETURN(dist::LauncherEnv env, dist::ReadLauncherEnv());
    ASSIGN_OR_RETURN(dist::RendezvousOptions rendezvous, dist::ResolveRendezvous(flags, env));
    setup.rank = rendezvous.rank;  // RANK wins over --rank; register with the rank in use
    REIN_LOG(INFO, "learner") << "rank " << rendezvous.rank << " of " << rendezvous.world_size
                              << ": forming the group through "
                              << (rendezvous.master_addr.empty()
                                      ? "the coordinator at " + rendezvous.coordinator
                                      : rendezvous.master_addr + ":" +
                                            std::to_string(rendezvous.master_port));
    ASSIGN_OR_RETURN(std::unique_ptr<dist::Communicator> comm,
                     dist::CreateCommunicator(rendezvous));
    RETURN_IF_ERROR(state->JoinGroup(std::move(comm)));
  }
  auto registry = std::make_shared<prometheus::Registry>();
  ASSIGN_OR_RETURN(std::unique_ptr<Learner> learner, Learner::Create(std::move(state), *registry));
  LearnerServiceOptions service_options;
  service_options.client = setup.client;
  service_options.push_timeout = absl::GetFlag(FLAGS_push_timeout);
  // The admin credential is the operator's (rpc/auth_roles.h): with auth off nobody is admin.
  service_options.is_admin = [](const grpc::ServerContext& context) {
    return rpc::CallerRole(context) == rpc::AuthRoleName(rpc::AuthRole::kOperator);
  };
  const std::string roots = absl::GetFlag(FLAGS_checkpoint_root);
  for (absl::string_view root : absl::StrSplit(roots.empty() ? setup.config.run.output_dir : roots,
                                               ',', absl::SkipEmpty())) {
    service_options.checkpoint_roots.emplace_back(root);
  }
  LearnerService service(*learner, service_options);
  const int capacity = setup.capacity_override > 0 ? setup.capacity_override
                                                   : setup.config.learner.micro_batch_size;
  REIN_LOG(INFO, "learner") << "mode " << config::EnumName(options.learner.mode)
                            << ", policy version " << learner->policy_version();
  const rein::v1::Role role = reward_learner ? rein::v1::ROLE_REWARD_LEARNER
                             : cost_learner ? rein::v1::ROLE_COST_LEARNER
                                            : rein::v1::ROLE_LEARNER;
  return worker::ServeWorker(setup, role, capacity,
                             {rpc::Bind<rein::v1::Learner>(&service)}, registry, shutdown);
}

}  // namespace
}  // namespace rein::learner

int main(int argc, char** argv) {
  auto shutdown = rein::rpc::ShutdownSignal::Install();
  rein::ParseFlags(argc, argv,
                   "rein-learner --config run.yaml [--port 0] [--coordinator host:port] [--rank R] [--resume DIR]: trains the policy (or a round's reward or cost model)");
  rein::InitProcess("learner");
  absl::Status status = rein::learner::RunLearner(*shutdown);
  if (!status.ok()) {
    REIN_LOG(ERROR, "main") << status;
    return 1;
  }
  return 0;
}
