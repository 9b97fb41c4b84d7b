// The one place where absl::Status and grpc::Status are converted into each other.
// Services return ToGrpcStatus(...) from handlers; clients turn replies back with FromGrpcStatus.
#ifndef REIN_COMMON_STATUS_GRPC_STATUS_H_
#define REIN_COMMON_STATUS_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rein {

// Same code, same message. The numeric codes of the two enums are identical by design.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// FromGrpcStatus with the failing RPC and peer prefixed to the message, e.g.
// "rein.v1.Rollout/Generate to 127.0.0.1:4001: deadline exceeded".
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view context);

}  // namespace rein

#endif  // REIN_COMMON_STATUS_GRPC_STATUS_H_
