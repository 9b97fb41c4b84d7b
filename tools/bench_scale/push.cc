// The weight-push section of the scale benchmark (sections.h).
#include <prometheus/registry.h>

#include <iostream>

#include "common/bench/loopback_tcp.h"
#include "common/rpc/server.h"
#include "common/status/status_macros.h"
#include "services/learner/learner_service.h"
#include "services/learner/weight_push.h"
#include "services/rollout/rollout_service.h"
#include "tools/bench_scale/model_facts.h"
#include "tools/bench_scale/sections.h"
#include "tools/bench_scale/timing.h"

namespace rein::bench_scale {
namespace {

int64_t TotalBytes(const std::vector<tensor::NamedTensor>& weights) {
  int64_t bytes = 0;
  for (const auto& named : weights) bytes += static_cast<int64_t>(named.second.nbytes());
  return bytes;
}

// A rollout replica as rein-rollout serves one: its policy loaded from `checkpoint` in `dtype`,
// behind a gRPC server on loopback.
struct Replica {
  prometheus::Registry registry;
  std::unique_ptr<rollout::RolloutService> service;
  std::unique_ptr<rpc::Server> server;
};

absl::StatusOr<std::unique_ptr<Replica>> StartReplica(const std::string& checkpoint,
                                                      at::ScalarType dtype) {
  model::ModelOptions model_options;
  model_options.dtype = dtype;
  model_options.heads = model::Heads::kLm;
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> policy,
                   model::CausalLM::Load(checkpoint, model_options));
  auto replica = std::make_unique<Replica>();
  rollout::RolloutServiceOptions options;
  options.max_batch_size = 1;  // the KV cache is not what is measured
  options.max_sequence_length = 16;
  options.assembler.max_chunk_bytes = int64_t{64} << 20;  // server.max_message_bytes' default
  ASSIGN_OR_RETURN(replica->service,
                   rollout::RolloutService::Create(std::move(policy), options, replica->registry));
  ASSIGN_OR_RETURN(replica->server,
                   rpc::Server::Create({}, {rpc::Bind<rein::v1::Rollout>(replica->service.get())},
                                       replica->registry));
  return replica;
}

// Pushes `weights` as versions first_version, first_version + 1, ... (one warm-up, then
// `repeats` timed) and times raw TCP of the same bytes.
absl::StatusOr<nlohmann::json> PushAgainstTcp(Replica& replica,
                                              const std::vector<tensor::NamedTensor>& weights,
                                              uint64_t& version, int repeats) {
  const int64_t bytes = TotalBytes(weights);
  ASSIGN_OR_RETURN(std::vector<double> tcp, bench::LoopbackTcpSeconds(bytes, repeats + 1));
  tcp.erase(tcp.begin());  // The warm-up.
  const learner::LearnerServiceOptions service_defaults;
  weightsync::PushOptions push;
  push.split.chunk_bytes = service_defaults.chunk_bytes;
  push.deadline = learner::PushDeadline(static_cast<uint64_t>(bytes));
  std::vector<double> seconds;
  for (int r = 0; r <= repeats; ++r) {
    ASSIGN_OR_RETURN(learner::PushSummary pushed,
                     learner::PushToReplicas({replica.server->address()}, service_defaults.client,
                                             ++version, weights, push));
    if (pushed.total_bytes != static_cast<uint64_t>(bytes)) {
      return absl::InternalError("the replica installed a different number of bytes");
    }
    if (r > 0) seconds.push_back(pushed.seconds);
  }
  const double ratio = Best(tcp) / Best(seconds);
  std::cerr << "[bench_scale] push " << DtypeName(weights.front().second.scalar_type()) << " "
            << bytes << " bytes: " << Best(seconds) << " s, raw TCP " << Best(tcp) << " s ("
            << ratio << "x)\n";
  return nlohmann::json{{"wire_dtype", DtypeName(weights.front().second.scalar_type())},
                        {"bytes", bytes},
                        {"tensors", weights.size()},
                        {"chunk_bytes", push.split.chunk_bytes},
                        {"push_seconds", seconds},
                        {"push_seconds_best", Best(seconds)},
                        {"push_bytes_per_s", static_cast<double>(bytes) / Best(seconds)},
                        {"raw_tcp_seconds", tcp},
                        {"raw_tcp_seconds_best", Best(tcp)},
                        {"raw_tcp_bytes_per_s", static_cast<double>(bytes) / Best(tcp)},
                        {"ratio_push_to_raw_tcp", ratio},
                        {"target_ratio", 0.5}};
}

}  // namespace

absl::StatusOr<nlohmann::json> MeasurePush(const PushOptions& o,
                                           std::vector<tensor::NamedTensor> weights) {
  ASSIGN_OR_RETURN(std::unique_ptr<Replica> replica, StartReplica(o.checkpoint, o.rollout_dtype));
  nlohmann::json report = {{"rollout_dtype", DtypeName(o.rollout_dtype)},
                           {"learner_dtype", DtypeName(weights.front().second.scalar_type())},
                           {"path",
                            "learner::PushToReplicas -> gRPC LoadWeights of a RolloutService on "
                            "127.0.0.1 (receive, check, install into the replica's model); "
                            "timed to the replica's reply"},
                           {"repeats", o.repeats},
                           {"pushes", nlohmann::json::array()}};
  uint64_t version = 0;
  ASSIGN_OR_RETURN(nlohmann::json as_is, PushAgainstTcp(*replica, weights, version, o.repeats));
  as_is["as"] = "the learner's weights as they are (what the learner service sends today)";
  report["pushes"].push_back(as_is);
  if (weights.front().second.scalar_type() != o.rollout_dtype) {
    std::vector<tensor::NamedTensor> cast;
    const double cast_s = Seconds([&] {
      for (const auto& [name, t] : weights) cast.emplace_back(name, t.to(o.rollout_dtype));
    });
    weights.clear();  // Only the cast copy is needed from here on.
    ASSIGN_OR_RETURN(nlohmann::json in_rollout_dtype,
                     PushAgainstTcp(*replica, cast, version, o.repeats));
    in_rollout_dtype["as"] = "cast to the replica's dtype before sending";
    in_rollout_dtype["cast_seconds"] = cast_s;
    report["pushes"].push_back(in_rollout_dtype);
  }
  return report;
}

}  // namespace rein::bench_scale
