// The one-call plumbing every coordinator stage shares: a unary call to one worker with the
// stage's deadline, and errors that name the method and the worker. Private to the
// coordinator's stage files.
#ifndef REIN_SERVICES_COORDINATOR_STAGE_CALLS_H_
#define REIN_SERVICES_COORDINATOR_STAGE_CALLS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

// "rein.v1.Rollout/Generate on rollout-1 (127.0.0.1:4001)", for error messages.
inline std::string CallName(absl::string_view method, const Worker& worker) {
  return absl::StrCat(method, " on ", worker.id, " (", worker.address, ")");
}

inline absl::Status Malformed(absl::string_view method, const Worker& worker,
                              absl::string_view what) {
  return absl::InternalError(absl::StrCat(CallName(method, worker), " replied malformed: ", what));
}

// One unary call to `worker` through a fresh stub of `Service`, with the stage's deadline.
// Errors name the method and the worker.
template <typename Service, typename Request, typename Response>
absl::Status CallWorker(const StageContext& context, const Worker& worker, absl::string_view method,
                        grpc::Status (Service::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                           Response*),
                        const Request& request, Response* response) {
  ASSIGN_OR_RETURN(auto channel, context.clients->Channel(worker.address));
  auto stub = Service::NewStub(channel);
  auto call = rpc::NewCallContext(context.clients->options(), context.call_timeout);
  return FromGrpcStatus(((*stub).*rpc)(call.get(), request, response), CallName(method, worker));
}

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_STAGE_CALLS_H_
