#include <catch2/catch.hpp>

#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace rein {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(auto quarter, Half(half));
  return quarter;
}

absl::Status CheckQuarter(int x, int* out) {
  ASSIGN_OR_RETURN(*out, Quarter(x));
  RETURN_IF_ERROR(absl::OkStatus());
  RETURN_IF_ERROR(x > 100 ? absl::OutOfRangeError("too big") : absl::OkStatus());
  return absl::OkStatus();
}

TEST_CASE("ASSIGN_OR_RETURN passes values and returns errors") {
  int out = 0;
  REQUIRE(CheckQuarter(12, &out).ok());
  CHECK(out == 3);
  CHECK(CheckQuarter(6, &out).code() == absl::StatusCode::kInvalidArgument);
  CHECK(CheckQuarter(200, &out).code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("Status converts to grpc::Status and back without loss") {
  for (int code = 0; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), code == 0 ? "" : "msg");
    grpc::Status wire = ToGrpcStatus(status);
    CHECK(static_cast<int>(wire.error_code()) == code);
    CHECK(FromGrpcStatus(wire) == status);
  }
}

TEST_CASE("FromGrpcStatus with context prefixes the message") {
  grpc::Status wire(grpc::StatusCode::UNAVAILABLE, "connection refused");
  absl::Status status = FromGrpcStatus(wire, "rein.v1.Rollout/Generate to 127.0.0.1:1");
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK(status.message() == "rein.v1.Rollout/Generate to 127.0.0.1:1: connection refused");
  CHECK(FromGrpcStatus(grpc::Status::OK, "ctx").ok());
}

}  // namespace
}  // namespace rein
