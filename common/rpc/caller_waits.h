// Whether the caller of a server call still waits for the answer. Long handlers (Generate,
// LogProbs, Score, Train, weight streams) ask between steps, so work that nobody waits for stops
// within one step instead of running to the end: a client that gives up, disconnects or lets its
// deadline pass frees the replica for the next call.
//
//   options.keep_going = rpc::CallerWaitsCheck(context);   // then, between steps:
//   RETURN_IF_ERROR(options.keep_going());
//
// Thread safety: the check may be called from any thread while the call is live.
#ifndef REIN_COMMON_RPC_CALLER_WAITS_H_
#define REIN_COMMON_RPC_CALLER_WAITS_H_

#include <grpcpp/server_context.h>

#include <functional>

#include "absl/status/status.h"

namespace rein::rpc {

// OK while the caller waits; CANCELLED once it cancelled or went away; DEADLINE_EXCEEDED once
// its deadline has passed (checked against the clock too, so a deadline is honoured even before
// gRPC's own timer has marked the call cancelled).
absl::Status CallerWaits(const grpc::ServerContext& context);

// CallerWaits bound to `context` (which must outlive the function); a null context always waits.
std::function<absl::Status()> CallerWaitsCheck(const grpc::ServerContext* context);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_CALLER_WAITS_H_
