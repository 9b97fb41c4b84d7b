#include "common/rpc/config_options.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/rpc/token_auth.h"
#include "common/testing/subprocess.h"

namespace rein::rpc {
namespace {

struct Files {
  std::string dir = testing::MakeTempDir("rein-config-options-");
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_CASE("per-role files: the server accepts every role, a client presents its own") {
  Files files;
  config::ServerConfig server;
  server.auth.worker_token_file = files.Write("worker", "worker-secret\n");
  server.auth.operator_token_file = files.Write("operator", TokenVerifier("op-secret") + "\n");
  absl::StatusOr<ServerOptions> serving = ServerOptionsFromConfig(server);
  REQUIRE(serving.ok());
  CHECK(serving->auth_token.empty());
  REQUIRE(serving->role_credentials.size() == 2);
  CHECK(serving->role_credentials[0].role == AuthRole::kWorker);
  CHECK(serving->role_credentials[0].secret == "worker-secret");
  CHECK(serving->role_credentials[1].role == AuthRole::kOperator);

  absl::StatusOr<ClientOptions> worker = ClientOptionsFromConfig(server, AuthRole::kWorker);
  REQUIRE(worker.ok());
  CHECK(worker->auth_token == "worker-secret");
  // This process holds only the operator's verifier: it cannot call as the operator.
  absl::StatusOr<ClientOptions> op = ClientOptionsFromConfig(server, AuthRole::kOperator);
  CHECK(op.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(op.status().message()), Catch::Contains("only a verifier"));
  // No monitor file: no monitor token to present.
  CHECK(ClientOptionsFromConfig(server, AuthRole::kMonitor).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("server.auth_token_file is one token for every role") {
  Files files;
  config::ServerConfig server;
  server.auth_token_file = files.Write("token", "  the-token \n");
  CHECK(ServerOptionsFromConfig(server)->auth_token == "the-token");
  for (AuthRole role : {AuthRole::kMonitor, AuthRole::kWorker, AuthRole::kOperator}) {
    CHECK(ClientOptionsFromConfig(server, role)->auth_token == "the-token");
  }
  CHECK(ClientOptionsFromConfig(config::ServerConfig{}, AuthRole::kOperator)->auth_token.empty());
}

TEST_CASE("missing and empty token files are errors naming the key") {
  Files files;
  config::ServerConfig server;
  server.auth.worker_token_file = files.dir + "/absent";
  server.auth.operator_token_file = files.Write("empty", "\n");
  absl::Status missing = ServerOptionsFromConfig(server).status();
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.message()), Catch::Contains("server.auth.worker_token_file"));
  server.auth.worker_token_file = files.Write("w", "w\n");
  absl::Status empty = ServerOptionsFromConfig(server).status();
  CHECK(empty.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(empty.message()), Catch::Contains("server.auth.operator_token_file"));
}

TEST_CASE("CreateMissingRoleTokens writes only the files that do not exist, mode 0600") {
  Files files;
  config::AuthConfig auth;
  auth.worker_token_file = files.Write("kept", "kept-token\n");
  auth.operator_token_file = files.dir + "/operator";
  absl::StatusOr<std::vector<std::string>> written = CreateMissingRoleTokens(auth);
  REQUIRE(written.ok());
  CHECK(*written == std::vector<std::string>{"server.auth.operator_token_file"});
  CHECK(*ReadTokenFile(auth.worker_token_file, "w") == "kept-token");
  absl::StatusOr<std::string> fresh = ReadTokenFile(auth.operator_token_file, "o");
  REQUIRE(fresh.ok());
  CHECK(fresh->size() == 64);
  struct stat info {};
  REQUIRE(stat(auth.operator_token_file.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(CreateMissingRoleTokens(auth)->empty());
}

}  // namespace
}  // namespace rein::rpc
