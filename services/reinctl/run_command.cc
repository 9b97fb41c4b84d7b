#include "services/reinctl/run_command.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/config/experiment_config.h"
#include "common/rpc/client.h"
#include "common/rpc/config_options.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "rein/v1/coordinator.grpc.pb.h"
#include "services/reinctl/command_util.h"
#include "services/reinctl/run_status_format.h"

namespace rein::reinctl {
namespace {

struct Target {
  std::string coordinator;
  std::string run = "runs/latest";
  std::string config;  // for TLS and the token, when the cluster uses them
  std::string token_file;  // overrides the config's token (e.g. a monitor's own)
};

struct Client {
  rpc::ClientOptions options;
  std::unique_ptr<rein::v1::Coordinator::Stub> stub;
  std::string address;
};

// `role`: the credential this command needs (rpc/auth_roles.h); status asks for the monitor's
// when the config names one, everything else for the operator's.
absl::StatusOr<Client> Connect(const Target& target,
                               rpc::AuthRole role = rpc::AuthRole::kOperator) {
  Client client;
  client.address = target.coordinator;
  if (client.address.empty()) {
    const std::string file = absl::StrCat(target.run, "/coordinator.address");
    std::ifstream in(file);
    if (!std::getline(in, client.address) || client.address.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "no coordinator address: '", file, "' cannot be read (start a run with `reinctl up`, "
          "or pass --coordinator host:port or --run DIR)"));
    }
    client.address = std::string(absl::StripAsciiWhitespace(client.address));
  }
  if (!target.config.empty()) {
    ASSIGN_OR_RETURN(config::ExperimentConfig c, config::LoadExperimentConfig(target.config));
    if (role == rpc::AuthRole::kMonitor && c.server.auth.monitor_token_file.empty()) {
      role = rpc::AuthRole::kOperator;
    }
    ASSIGN_OR_RETURN(client.options, rpc::ClientOptionsFromConfig(c.server, role));
  }
  if (!target.token_file.empty()) {
    ASSIGN_OR_RETURN(client.options.auth_token,
                     rpc::ReadTokenFile(target.token_file, "--token-file"));
  }
  ASSIGN_OR_RETURN(auto channel, rpc::CreateChannel(client.address, client.options));
  client.stub = rein::v1::Coordinator::NewStub(channel);
  return client;
}

// Runs one control RPC and prints its RunStatus; exit status 1 on an RPC error.
template <typename Request>
int Control(const Target& target, const char* what,
            grpc::Status (rein::v1::Coordinator::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                            rein::v1::RunStatus*),
            const Request& request) {
  absl::StatusOr<Client> client = Connect(target);
  if (!client.ok()) {
    std::fprintf(stderr, "reinctl %s: %s\n", what, std::string(client.status().message()).c_str());
    return 2;
  }
  rein::v1::RunStatus status;
  auto context = rpc::NewCallContext(client->options, absl::Seconds(30));
  grpc::Status rpc_status = ((*client->stub).*rpc)(context.get(), request, &status);
  if (!rpc_status.ok()) {
    std::fprintf(stderr, "reinctl %s: %s\n", what,
                 FromGrpcStatus(rpc_status, client->address).ToString().c_str());
    return 1;
  }
  std::printf("%s\n", FormatRunStatus(status).c_str());
  return 0;
}

int PrintFinalStatus(const Target& target, const rein::v1::RunStatus& status) {
  std::printf("%s\n(the run has ended; its final state, from %s/status.json)\n",
              FormatRunStatus(status).c_str(), target.run.c_str());
  return status.state() == rein::v1::RUN_STATE_FAILED ? 1 : 0;
}

int Status(const Target& target, bool watch) {
  if (std::optional<rein::v1::RunStatus> final_status = ReadFinalStatus(target.run)) {
    return PrintFinalStatus(target, *final_status);
  }
  absl::StatusOr<Client> client = Connect(target, rpc::AuthRole::kMonitor);
  if (!client.ok()) {
    std::fprintf(stderr, "reinctl status: %s\n", std::string(client.status().message()).c_str());
    return 2;
  }
  while (true) {
    rein::v1::RunStatus status;
    auto context = rpc::NewCallContext(client->options, absl::Seconds(10));
    grpc::Status rpc_status =
        client->stub->Status(context.get(), rein::v1::StatusRequest(), &status);
    if (!rpc_status.ok()) {
      // The run may have ended (and its coordinator exited) since the last look.
      if (std::optional<rein::v1::RunStatus> final_status = ReadFinalStatus(target.run)) {
        return PrintFinalStatus(target, *final_status);
      }
      std::fprintf(stderr, "reinctl status: %s\n",
                   FromGrpcStatus(rpc_status, client->address).ToString().c_str());
      return 1;
    }
    std::printf("%s\n", FormatRunStatus(status).c_str());
    std::fflush(stdout);
    if (!watch || RunEnded(status.state())) {
      return status.state() == rein::v1::RUN_STATE_FAILED ? 1 : 0;
    }
    absl::SleepFor(absl::Seconds(2));
  }
}

int Checkpoint(const Target& target, const std::string& directory) {
  absl::StatusOr<Client> client = Connect(target);
  if (!client.ok()) {
    std::fprintf(stderr, "reinctl checkpoint: %s\n",
                 std::string(client.status().message()).c_str());
    return 2;
  }
  rein::v1::CheckpointRequest request;
  request.set_directory(directory);
  rein::v1::CheckpointResponse response;
  // The checkpoint is written between iterations: allow for one to finish.
  auto context = rpc::NewCallContext(client->options, absl::Minutes(30));
  grpc::Status rpc_status = client->stub->Checkpoint(context.get(), request, &response);
  if (!rpc_status.ok()) {
    std::fprintf(stderr, "reinctl checkpoint: %s\n",
                 FromGrpcStatus(rpc_status, client->address).ToString().c_str());
    return 1;
  }
  std::printf("checkpoint of iteration %llu written to %s\n",
              static_cast<unsigned long long>(response.iteration()), response.directory().c_str());
  return 0;
}

void AddTargetOptions(CLI::App* command, Target& target) {
  command->add_option("--coordinator", target.coordinator, "Coordinator host:port");
  command->add_option("--run", target.run,
                      "Run folder written by `reinctl up` (holds coordinator.address)")
      ->capture_default_str();
  command->add_option("--config", target.config,
                      "Experiment config, for the cluster's TLS and token settings");
  command->add_option("--token-file", target.token_file,
                      "File holding the token to present (default: the config's operator token; "
                      "for status its monitor token when it has one)");
}

}  // namespace

void AddRunCommands(CLI::App& app) {
  auto target = std::make_shared<Target>();

  auto watch = std::make_shared<bool>(false);
  CLI::App* status = app.add_subcommand("status", "Show the progress of a running job");
  AddTargetOptions(status, *target);
  status->add_flag("--watch,-w", *watch, "Refresh every 2 s until the run ends");
  status->callback([target, watch] { ExitWith(Status(*target, *watch)); });

  CLI::App* pause = app.add_subcommand("pause", "Pause the job after the current iteration");
  AddTargetOptions(pause, *target);
  pause->callback([target] {
    ExitWith(Control(*target, "pause", &rein::v1::Coordinator::Stub::Pause,
                     rein::v1::PauseRequest()));
  });

  CLI::App* resume = app.add_subcommand("resume", "Resume a paused job");
  AddTargetOptions(resume, *target);
  resume->callback([target] {
    ExitWith(Control(*target, "resume", &rein::v1::Coordinator::Stub::Resume,
                     rein::v1::ResumeRequest()));
  });

  CLI::App* stop = app.add_subcommand(
      "stop", "Stop the job after the current iteration (a final checkpoint is written)");
  AddTargetOptions(stop, *target);
  stop->callback([target] {
    ExitWith(
        Control(*target, "stop", &rein::v1::Coordinator::Stub::Stop, rein::v1::StopRequest()));
  });

  auto directory = std::make_shared<std::string>();
  CLI::App* checkpoint = app.add_subcommand(
      "checkpoint", "Write a checkpoint between iterations (default <run>/checkpoints/iter-N)");
  AddTargetOptions(checkpoint, *target);
  checkpoint->add_option("--dir", *directory, "Folder to write");
  checkpoint->callback([target, directory] { ExitWith(Checkpoint(*target, *directory)); });

  auto kl_coef = std::make_shared<std::optional<double>>();
  auto learning_rate = std::make_shared<std::optional<double>>();
  CLI::App* set = app.add_subcommand(
      "set", "Change live-tunable parameters of the running job from its next iteration");
  AddTargetOptions(set, *target);
  set->add_option("--kl-coef", *kl_coef, "KL penalty coefficient (>= 0)");
  set->add_option("--lr,--learning-rate", *learning_rate, "Peak learning rate (> 0)");
  set->callback([target, kl_coef, learning_rate] {
    rein::v1::SetRequest request;
    if (*kl_coef) request.mutable_parameters()->set_kl_coef(**kl_coef);
    if (*learning_rate) request.mutable_parameters()->set_learning_rate(**learning_rate);
    if (!*kl_coef && !*learning_rate) {
      std::fprintf(stderr, "reinctl set: give --kl-coef and/or --lr\n");
      ExitWith(2);
    }
    ExitWith(Control(*target, "set", &rein::v1::Coordinator::Stub::Set, request));
  });
}

}  // namespace rein::reinctl
