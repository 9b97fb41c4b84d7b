// Per-role credentials on a live run: `reinctl up` with server.auth generates the three tokens,
// every process takes its own, and the coordinator and a reward replica refuse what a worker
// or monitor token may not do, while the run goes on and completes.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/rpc/client.h"
#include "rein/v1/reward.grpc.pb.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

namespace fs = std::filesystem;

std::string Token(const std::string& path) {
  return std::string(absl::StripAsciiWhitespace(ReadFile(path)));
}

// The gRPC address the process announced in its log ("... listening on host:port").
std::string AnnouncedAddress(const std::string& log) {
  const std::string kMarker = " listening on ";
  const std::string text = ReadFile(log);
  const size_t at = text.find(kMarker);
  if (at == std::string::npos) return "";
  const size_t start = at + kMarker.size();
  return text.substr(start, text.find('\n', start) - start);
}

grpc::StatusCode ReloadWith(const std::string& address, const std::string& token) {
  rpc::ClientOptions options;
  options.auth_token = token;
  options.default_deadline = absl::Seconds(30);
  auto channel = rpc::CreateChannel(address, options);
  REQUIRE(channel.ok());
  auto stub = rein::v1::Reward::NewStub(*channel);
  rein::v1::ReloadRequest request;
  request.set_model_dir("/nonexistent/reward-model");
  rein::v1::ReloadResponse response;
  auto context = rpc::NewCallContext(options);
  return stub->Reload(context.get(), request, &response).error_code();
}

struct RoleFiles {
  std::string worker, op, monitor;
  explicit RoleFiles(const std::string& dir)
      : worker(dir + "/secrets/worker.token"),
        op(dir + "/secrets/operator.token"),
        monitor(dir + "/secrets/monitor.token") {
    fs::create_directories(dir + "/secrets");
  }
  std::map<std::string, std::string> ConfigLines() const {
    return {{"server", absl::StrCat("  auth:\n    worker_token_file: ", worker,
                                    "\n    operator_token_file: ", op,
                                    "\n    monitor_token_file: ", monitor, "\n")}};
  }
};

// `reinctl <command> --run run_dir ...` presenting the token in `token_file`.
testing::CommandResult CtlAs(const std::string& token_file, std::vector<std::string> args,
                             const std::string& run_dir) {
  args.insert(args.end(), {"--run", run_dir, "--token-file", token_file});
  return Ctl(args);
}

void RequireDenied(const testing::CommandResult& result, const char* role_needed) {
  INFO(result.stdout_text << result.stderr_text);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.stderr_text, Catch::Contains("PERMISSION_DENIED") &&
                                     Catch::Contains(absl::StrCat("needs the ", role_needed)));
}

TEST_CASE("roles: worker and monitor tokens cannot control a live run but the operator token can") {
  const std::string dir = testing::MakeTempDir("rein-e2e-roles-");
  const std::string run_dir = dir + "/run";
  const RoleFiles files(dir);
  const std::string& worker = files.worker;
  const std::string& op = files.op;
  const std::string& monitor = files.monitor;
  // Long enough that it is still running when the checks are done; the operator stops it.
  const std::string config = WriteConfig(dir, 200, files.ConfigLines());
  auto up = StartUp(config, run_dir);
  WaitForIterations(run_dir, 1);

  // reinctl up made the three tokens, distinct and readable by their owner only.
  for (const std::string& file : {worker, op, monitor}) {
    struct stat info {};
    REQUIRE(stat(file.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    CHECK(Token(file).size() == 64);
  }
  CHECK(Token(worker) != Token(op));
  CHECK(Token(monitor) != Token(op));

  // The worker token: none of the controls, while the run goes on.
  RequireDenied(CtlAs(worker, {"pause"}, run_dir), "operator");
  RequireDenied(CtlAs(worker, {"set", "--kl-coef", "0.7"}, run_dir), "operator");
  RequireDenied(CtlAs(worker, {"checkpoint", "--dir", dir + "/stolen"}, run_dir), "operator");
  RequireDenied(CtlAs(worker, {"stop"}, run_dir), "operator");
  // The monitor token reads status but cannot pause; the config's own status uses it.
  testing::CommandResult watched = CtlAs(monitor, {"status"}, run_dir);
  CHECK(watched.exit_code == 0);
  CHECK_THAT(watched.stdout_text, Catch::Contains("RUNNING"));
  RequireDenied(CtlAs(monitor, {"pause"}, run_dir), "operator");
  CHECK(Ctl({"status", "--run", run_dir, "--config", config}).exit_code == 0);
  // No token is not a role at all.
  testing::CommandResult anonymous = Ctl({"status", "--run", run_dir});
  CHECK(anonymous.exit_code == 1);
  CHECK_THAT(anonymous.stderr_text, Catch::Contains("UNAUTHENTICATED"));

  // A reward replica refuses Reload from a worker or monitor; the operator's gets past the
  // check (and then fails: this run's reward has no model loader).
  const std::string reward = AnnouncedAddress(run_dir + "/logs/reward-0.log");
  REQUIRE_FALSE(reward.empty());
  CHECK(ReloadWith(reward, Token(worker)) == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(ReloadWith(reward, Token(monitor)) == grpc::StatusCode::PERMISSION_DENIED);
  const grpc::StatusCode by_operator = ReloadWith(reward, Token(op));
  CHECK(by_operator != grpc::StatusCode::PERMISSION_DENIED);
  CHECK(by_operator != grpc::StatusCode::UNAUTHENTICATED);
  CHECK(by_operator != grpc::StatusCode::UNAVAILABLE);
  CHECK(by_operator != grpc::StatusCode::OK);

  // The operator token (the config's, reinctl's default, or --token-file) does everything.
  CHECK(Ctl({"set", "--run", run_dir, "--config", config, "--kl-coef", "0.25"}).exit_code == 0);
  CHECK(Ctl({"pause", "--run", run_dir, "--config", config}).exit_code == 0);
  CHECK(CtlAs(op, {"checkpoint", "--dir", run_dir + "/ckpt"}, run_dir).exit_code == 0);
  CHECK(fs::exists(run_dir + "/ckpt/coordinator.json"));
  CHECK_FALSE(fs::exists(dir + "/stolen"));
  const size_t before_resume = ReadStats(run_dir).size();
  CHECK(CtlAs(op, {"resume"}, run_dir).exit_code == 0);
  WaitForIterations(run_dir, before_resume + 1);
  CHECK(ReadStats(run_dir).back()["kl/coef"] == 0.25);  // the worker's 0.7 never landed
  CHECK(CtlAs(op, {"stop"}, run_dir).exit_code == 0);

  auto exit_code = up->Wait(absl::Minutes(4));
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  CHECK_THAT(up->output(), Catch::Contains("run stopped"));
  // The coordinator logged each control with the caller's role; refused ones never ran.
  const std::string logged = ReadFile(run_dir + "/logs/coordinator.log");
  CHECK_THAT(logged, Catch::Contains("pause requested by ipv4:127.0.0.1") &&
                         Catch::Contains("(operator): done"));
  CHECK_THAT(logged, !Catch::Contains("(worker)") && !Catch::Contains("kl_coef: 0.7"));
}

TEST_CASE("roles: a run under reinctl up with a token per role completes") {
  const std::string dir = testing::MakeTempDir("rein-e2e-roles-run-");
  const RoleFiles files(dir);
  auto up = StartUp(WriteConfig(dir, 2, files.ConfigLines()), dir + "/run");
  auto exit_code = up->Wait(absl::Minutes(4));
  INFO(up->output());
  REQUIRE(exit_code.ok());
  CHECK(*exit_code == 0);
  CHECK_THAT(up->output(), Catch::Contains("run finished"));
  CHECK(ReadStats(dir + "/run").size() == 2);
  CHECK(Token(files.worker).size() == 64);
}

}  // namespace
}  // namespace rein::e2e
