// Pushing one policy version to many rollout replicas at once (weightsync::PushWeights to each,
// in parallel, one thread per replica).
#ifndef REIN_SERVICES_LEARNER_WEIGHT_PUSH_H_
#define REIN_SERVICES_LEARNER_WEIGHT_PUSH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/rpc/options.h"
#include "common/tensor/chunking.h"
#include "common/weightsync/weight_stream.h"

namespace rein::learner {

struct PushSummary {
  double seconds = 0;        // wall time of the whole push
  uint64_t total_bytes = 0;  // tensor bytes the replicas installed, summed over replicas
};

// Streams `tensors` as `version` to every address. All replicas are tried; if any fails the
// result is an error naming each failed address (the others did install the version). Errors:
// INVALID_ARGUMENT for no address; otherwise the replicas' (e.g. FAILED_PRECONDITION for a
// replica that already has this version, UNAVAILABLE for one that cannot be reached).
absl::StatusOr<PushSummary> PushToReplicas(const std::vector<std::string>& addresses,
                                           const rpc::ClientOptions& client, uint64_t version,
                                           absl::Span<const tensor::NamedTensor> tensors,
                                           const weightsync::PushOptions& options = {});

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_WEIGHT_PUSH_H_
