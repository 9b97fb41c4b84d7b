// Per-method gRPC server metrics, recorded by an interceptor on every call:
//   rein_rpc_server_started_total{method}           calls received
//   rein_rpc_server_handled_total{method,code}      calls completed, by status code name
//   rein_rpc_server_handling_seconds{method}        latency from receipt to status sent
// `method` is the full path without the leading slash ("rein.v1.Rollout/Generate"); the set of
// methods is fixed by the services a server registers, so label cardinality stays small.
#ifndef REIN_COMMON_RPC_SERVER_METRICS_H_
#define REIN_COMMON_RPC_SERVER_METRICS_H_

#include <memory>

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/registry.h>

namespace rein::rpc {

// Creates an interceptor factory whose metric families are registered in `registry`, which
// must outlive it. Thread safe.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeServerMetricsInterceptorFactory(prometheus::Registry& registry);

// "OK", "CANCELLED", ... as in the gRPC status-code documentation.
const char* StatusCodeName(grpc::StatusCode code);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_SERVER_METRICS_H_
