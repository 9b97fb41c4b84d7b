#include "services/reinctl/health_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/rpc/client.h"
#include "services/reinctl/command_util.h"

namespace rein::reinctl {
namespace {

struct HealthFlags {
  std::string address;
  std::string service;
  std::string wait = "0s";
  rpc::ClientTlsOptions tls;
};

int RunHealth(const HealthFlags& flags) {
  absl::Duration wait;
  if (!absl::ParseDuration(flags.wait, &wait) || wait < absl::ZeroDuration()) {
    std::fprintf(stderr, "--wait: '%s' is not a duration such as 30s\n", flags.wait.c_str());
    return 2;
  }
  rpc::ClientOptions options;
  options.tls = flags.tls;
  auto channel = rpc::CreateChannel(flags.address, options);
  if (!channel.ok()) {
    std::fprintf(stderr, "%s\n", std::string(channel.status().message()).c_str());
    return 2;
  }
  absl::Status status =
      wait > absl::ZeroDuration()
          ? rpc::WaitUntilServing(**channel, options, flags.service, wait)
          : rpc::CheckHealth(**channel, options, flags.service, absl::Seconds(10));
  if (!status.ok()) {
    std::printf("%s: NOT SERVING (%s)\n", flags.address.c_str(),
                std::string(status.message()).c_str());
    return 1;
  }
  std::printf("%s: SERVING\n", flags.address.c_str());
  return 0;
}

}  // namespace

void AddHealthCommand(CLI::App& app) {
  auto flags = std::make_shared<HealthFlags>();
  CLI::App* health = app.add_subcommand("health", "Is a Rein process serving? (grpc.health.v1)");
  health->add_option("address", flags->address, "host:port of the process")->required();
  health->add_option("--service", flags->service, "Service to ask about; default: the server");
  health->add_option("--wait", flags->wait, "Wait up to this long for it to serve, e.g. 30s");
  health->add_option("--tls-ca", flags->tls.ca_file, "CA bundle (PEM): use TLS");
  health->add_option("--tls-cert", flags->tls.cert_file, "Client certificate (PEM), for mTLS");
  health->add_option("--tls-key", flags->tls.key_file, "Client key (PEM), for mTLS");
  health->callback([flags] { ExitWith(RunHealth(*flags)); });
}

}  // namespace rein::reinctl
