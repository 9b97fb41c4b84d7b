#include "common/weightsync/weight_stream.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace rein::weightsync {

absl::StatusOr<rein::v1::LoadWeightsResponse> PushWeights(
    rein::v1::Rollout::StubInterface& stub, const rpc::ClientOptions& client, uint64_t version,
    absl::Span<const tensor::NamedTensor> tensors, const PushOptions& options) {
  auto context = rpc::NewCallContext(client, options.deadline);
  rein::v1::LoadWeightsResponse response;
  std::unique_ptr<grpc::ClientWriterInterface<rein::v1::TensorChunk>> writer =
      stub.LoadWeights(context.get(), &response);
  absl::Status split = tensor::SplitTensorSet(
      version, tensors, options.split, [&](const rein::v1::TensorChunk& chunk) {
        if (!writer->Write(chunk)) {
          // The receiver ended the stream early; its status (from Finish) says why.
          return absl::AbortedError("receiver closed the weight stream");
        }
        return absl::OkStatus();
      });
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) {
    return FromGrpcStatus(status, absl::StrCat("pushing policy v", version));
  }
  RETURN_IF_ERROR(split);
  return response;
}

absl::StatusOr<tensor::TensorSet> ReceiveWeights(
    grpc::ServerReaderInterface<rein::v1::TensorChunk>& reader,
    const tensor::AssemblerOptions& options, tensor::TensorSet recycled) {
  ASSIGN_OR_RETURN(std::unique_ptr<tensor::ChunkAssembler> assembler,
                   tensor::ChunkAssembler::Create(options, std::move(recycled)));
  rein::v1::TensorChunk chunk;
  while (reader.Read(&chunk)) {
    RETURN_IF_ERROR(assembler->Add(chunk));
  }
  return assembler->Finish();
}

absl::StatusOr<rein::v1::LoadWeightsResponse> ReceiveAndInstall(
    grpc::ServerReaderInterface<rein::v1::TensorChunk>& reader,
    const tensor::AssemblerOptions& options, VersionedWeights& weights) {
  ASSIGN_OR_RETURN(tensor::TensorSet set, ReceiveWeights(reader, options, weights.TakeSpare()));
  rein::v1::LoadWeightsResponse response;
  response.set_policy_version(set.policy_version);
  response.set_tensor_count(static_cast<uint32_t>(set.tensors.size()));
  uint64_t total_bytes = 0;
  for (const tensor::NamedTensor& named : set.tensors) total_bytes += named.second.nbytes();
  response.set_total_bytes(total_bytes);
  RETURN_IF_ERROR(weights.Install(std::move(set)));
  return response;
}

}  // namespace rein::weightsync
