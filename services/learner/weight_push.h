// Pushing one policy version to many rollout replicas at once (weightsync::PushWeights to each,
// in parallel, one thread per replica).
#ifndef REIN_SERVICES_LEARNER_WEIGHT_PUSH_H_
#define REIN_SERVICES_LEARNER_WEIGHT_PUSH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/rpc/options.h"
#include "common/tensor/chunking.h"
#include "common/weightsync/weight_stream.h"

namespace rein::learner {

struct PushSummary {
  double seconds = 0;        // wall time of the whole push
  uint64_t total_bytes = 0;  // tensor bytes the replicas installed, summed over replicas
};

// The deadline of one replica's push of `bytes`: 30 s, plus one second per 64 MiB. A replica
// that takes weights in slower than 64 MiB/s (loopback and datacentre links move GB/s) is
// treated as stalled, e.g. frozen by SIGSTOP, and its push fails instead of holding the run.
absl::Duration PushDeadline(uint64_t bytes);

// Streams `tensors` as `version` to every address, each push under `options.deadline`. All replicas are tried; if any fails the
// result is an error naming each failed address (the others did install the version). Errors:
// INVALID_ARGUMENT for no address; otherwise the replicas' (e.g. FAILED_PRECONDITION for a
// replica that already has this version, UNAVAILABLE for one that cannot be reached).
absl::StatusOr<PushSummary> PushToReplicas(const std::vector<std::string>& addresses,
                                           const rpc::ClientOptions& client, uint64_t version,
                                           absl::Span<const tensor::NamedTensor> tensors,
                                           const weightsync::PushOptions& options = {});

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_WEIGHT_PUSH_H_
