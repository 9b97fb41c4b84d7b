// The gRPC side every `reinctl feedback` subcommand shares: the flags that name the server and
// its admin token, a connected client whose errors read as one actionable line, and the wiring
// that turns a subcommand's Status into stderr and the exit status.
#ifndef REIN_SERVICES_REINCTL_FEEDBACK_CLIENT_H_
#define REIN_SERVICES_REINCTL_FEEDBACK_CLIENT_H_

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/rpc/client.h"
#include "rein/v1/feedback.grpc.pb.h"

namespace rein::reinctl {

// Flags every subcommand takes. One instance is shared: only one subcommand runs.
struct FeedbackTarget {
  std::string address;
  std::string admin_token_file = "feedback-admin.token";
  std::string timeout = "30s";
  rpc::ClientTlsOptions tls;
};

struct FeedbackClient {
  std::string address;
  std::string token_file;
  std::string timeout_text;
  absl::Duration timeout;
  rpc::ClientOptions options;
  std::unique_ptr<rein::v1::Feedback::Stub> stub;

  std::unique_ptr<grpc::ClientContext> Context() const {
    return rpc::NewCallContext(options, timeout);
  }

  // A failed call as one line: the method, the server, the code and message, and a hint for the
  // causes people actually hit.
  absl::Status Error(const grpc::Status& status, absl::string_view method) const;
};

// Reads the admin token and connects; INVALID_ARGUMENT for a bad --timeout or an empty token.
absl::StatusOr<FeedbackClient> Connect(const FeedbackTarget& target);

// Wires `body` as the callback of `command`: an error becomes one line on stderr and exit
// status 1. Exceptions are caught too, so that a bug shows as a message, not a trace.
void OnRun(CLI::App* command, const std::string& name, std::function<absl::Status()> body);

// --feedback, --admin-token-file, --timeout and the TLS flags.
void AddTargetOptions(CLI::App* command, FeedbackTarget& target);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_FEEDBACK_CLIENT_H_
