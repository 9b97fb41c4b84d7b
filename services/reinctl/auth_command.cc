#include "services/reinctl/auth_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include "common/config/experiment_config.h"
#include "common/rpc/config_options.h"
#include "common/rpc/token_auth.h"
#include "services/reinctl/command_util.h"

namespace rein::reinctl {
namespace {

int NewTokenFile(const std::string& out) {
  config::AuthConfig one;
  one.worker_token_file = out;  // any role's key: only the path matters here
  absl::StatusOr<std::vector<std::string>> written = rpc::CreateMissingRoleTokens(one);
  if (!written.ok()) {
    std::fprintf(stderr, "reinctl auth token: %s\n",
                 std::string(written.status().message()).c_str());
    return 1;
  }
  if (written->empty()) {
    std::fprintf(stderr, "reinctl auth token: '%s' exists; not overwritten\n", out.c_str());
    return 1;
  }
  return 0;
}

int PrintVerifier(const std::string& token_file) {
  absl::StatusOr<std::string> token = rpc::ReadTokenFile(token_file, "--token-file");
  if (!token.ok()) {
    std::fprintf(stderr, "reinctl auth verifier: %s\n",
                 std::string(token.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", rpc::TokenVerifier(*token).c_str());
  return 0;
}

}  // namespace

void AddAuthCommands(CLI::App& app) {
  CLI::App* auth = app.add_subcommand("auth", "Make the tokens of server.auth's roles");
  auth->require_subcommand(1);
  auto out = std::make_shared<std::string>();
  CLI::App* token = auth->add_subcommand("token", "Write a fresh token to a new file (0600)");
  token->add_option("--out", *out, "File to create")->required();
  token->callback([out] { ExitWith(NewTokenFile(*out)); });
  auto token_file = std::make_shared<std::string>();
  CLI::App* verifier = auth->add_subcommand(
      "verifier", "Print the token's verifier (sha256:...), for servers that only check it");
  verifier->add_option("--token-file", *token_file, "File holding the token")->required();
  verifier->callback([token_file] { ExitWith(PrintVerifier(*token_file)); });
}

}  // namespace rein::reinctl
