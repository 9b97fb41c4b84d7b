// Moving a policy's weights over gRPC: the learner pushes a versioned tensor set to a rollout
// replica's LoadWeights as a stream of checked chunks; the replica reassembles the whole set
// before anything is installed.
//
// Sender (learner rank 0):
//   ASSIGN_OR_RETURN(auto reply, PushWeights(*stub, client_options, version, tensors, {}));
// Receiver (a Rollout service's LoadWeights handler):
//   auto installed = ReceiveAndInstall(*reader, assembler_options, weights);
//   if (!installed.ok()) return ToGrpcStatus(installed.status());
#ifndef REIN_COMMON_WEIGHTSYNC_WEIGHT_STREAM_H_
#define REIN_COMMON_WEIGHTSYNC_WEIGHT_STREAM_H_

#include <cstdint>

#include <grpcpp/support/sync_stream.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/rpc/options.h"
#include "common/tensor/chunking.h"
#include "common/weightsync/versioned_weights.h"
#include "rein/v1/rollout.grpc.pb.h"

namespace rein::weightsync {

struct PushOptions {
  tensor::SplitOptions split;
  // Deadline of the whole stream. Default 10 minutes: tens of GB over a fast link.
  absl::Duration deadline = absl::Minutes(10);
};

// Streams `tensors` as policy `version` to one replica. The reply is the replica's account of
// what it installed; a replica that refuses (stale version, bad chunk) fails the call with its
// reason. Not retried: the caller decides whether to push again.
absl::StatusOr<rein::v1::LoadWeightsResponse> PushWeights(
    rein::v1::Rollout::StubInterface& stub, const rpc::ClientOptions& client, uint64_t version,
    absl::Span<const tensor::NamedTensor> tensors, const PushOptions& options);

// Reads a LoadWeights stream to the end and returns the complete set. Any fault in the
// stream (see tensor::ChunkAssembler) is returned and nothing is returned partially.
// `recycled` buffers are reused where they match (see ChunkAssembler::Create).
absl::StatusOr<tensor::TensorSet> ReceiveWeights(
    grpc::ServerReaderInterface<rein::v1::TensorChunk>& reader,
    const tensor::AssemblerOptions& options, tensor::TensorSet recycled = {});

// The whole of a LoadWeights handler: receive into the buffers of the weights replaced last
// time (when free), then install into `weights` (atomically; on any error the current weights
// stay). Returns what was installed.
absl::StatusOr<rein::v1::LoadWeightsResponse> ReceiveAndInstall(
    grpc::ServerReaderInterface<rein::v1::TensorChunk>& reader,
    const tensor::AssemblerOptions& options, VersionedWeights& weights);

}  // namespace rein::weightsync

#endif  // REIN_COMMON_WEIGHTSYNC_WEIGHT_STREAM_H_
