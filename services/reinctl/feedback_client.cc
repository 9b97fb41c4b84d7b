#include "services/reinctl/feedback_client.h"

#include <cstdio>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/files/file_util.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/reinctl/command_util.h"

namespace rein::reinctl {

using rein::v1::Feedback;

absl::Status FeedbackClient::Error(const grpc::Status& status, absl::string_view method) const {
  const absl::Status s = FromGrpcStatus(status);
  std::string message = absl::StrCat("rein.v1.Feedback/", method, " to ", address, ": ",
                                     absl::StatusCodeToString(s.code()), ": ", s.message());
  switch (s.code()) {
    case absl::StatusCode::kUnauthenticated:
      absl::StrAppend(&message,
                      " (unauthenticated: the server did not accept the admin token "
                      "in '",
                      token_file,
                      "'; pass --admin-token-file with the file "
                      "rein-feedback reads: feedback.admin_token_file, else "
                      "server.auth_token_file, else the feedback-admin.token it "
                      "wrote where it started)");
      break;
    case absl::StatusCode::kUnavailable:
      absl::StrAppend(&message, " (is rein-feedback running at ", address, "?)");
      break;
    case absl::StatusCode::kDeadlineExceeded:
      absl::StrAppend(&message, " (no answer within --timeout ", timeout_text, ")");
      break;
    default:
      break;
  }
  return absl::Status(s.code(), message);
}

absl::StatusOr<FeedbackClient> Connect(const FeedbackTarget& target) {
  FeedbackClient client;
  client.address = target.address;
  client.token_file = target.admin_token_file;
  client.timeout_text = target.timeout;
  if (!absl::ParseDuration(target.timeout, &client.timeout) ||
      client.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout: '", target.timeout, "' is not a positive duration such as 30s"));
  }
  absl::StatusOr<std::string> token = files::ReadFile(target.admin_token_file);
  if (!token.ok()) {
    return absl::Status(token.status().code(),
                        absl::StrCat("cannot read the admin token (", token.status().message(),
                                     "): pass --admin-token-file PATH, the file named by "
                                     "feedback.admin_token_file, or the feedback-admin.token "
                                     "rein-feedback wrote where it started"));
  }
  client.options.auth_token = std::string(absl::StripAsciiWhitespace(*token));
  if (client.options.auth_token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the admin token file '", target.admin_token_file, "' is empty"));
  }
  client.options.tls = target.tls;
  ASSIGN_OR_RETURN(auto channel, rpc::CreateChannel(client.address, client.options));
  client.stub = Feedback::NewStub(channel);
  return client;
}

void OnRun(CLI::App* command, const std::string& name, std::function<absl::Status()> body) {
  command->callback([name, body = std::move(body)] {
    absl::Status status;
    try {
      status = body();
    } catch (const std::exception& e) {
      status = absl::InternalError(absl::StrCat("internal error: ", e.what()));
    }
    if (!status.ok()) {
      std::fflush(stdout);
      std::fprintf(stderr, "reinctl feedback %s: %s\n", name.c_str(),
                   std::string(status.message()).c_str());
      ExitWith(1);
    }
  });
}

void AddTargetOptions(CLI::App* command, FeedbackTarget& target) {
  command->add_option("--feedback", target.address, "rein-feedback's gRPC address (host:port)")
      ->required();
  command->add_option("--admin-token-file", target.admin_token_file, "File holding the admin token")
      ->capture_default_str();
  command->add_option("--timeout", target.timeout, "Deadline of each call, e.g. 30s or 5m")
      ->capture_default_str();
  command->add_option("--tls-ca", target.tls.ca_file, "CA bundle (PEM): use TLS");
  command->add_option("--tls-cert", target.tls.cert_file, "FeedbackClient certificate (PEM), for mTLS");
  command->add_option("--tls-key", target.tls.key_file, "FeedbackClient key (PEM), for mTLS");
}

}  // namespace rein::reinctl
