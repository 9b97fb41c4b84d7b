#include "common/dist/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::dist {
namespace {

absl::Status CudaError(cudaError_t error, absl::string_view what) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorString(error)));
}

absl::Status NcclError(ncclResult_t result, absl::string_view what) {
  if (result == ncclSuccess || result == ncclInProgress) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", ncclGetErrorString(result)));
}

ncclDataType_t ToNccl(NcclType type) {
  switch (type) {
    case NcclType::kFloat32: return ncclFloat32;
    case NcclType::kFloat16: return ncclFloat16;
    case NcclType::kBFloat16: return ncclBfloat16;
    case NcclType::kFloat64: return ncclFloat64;
    case NcclType::kInt32: return ncclInt32;
    case NcclType::kInt64: return ncclInt64;
  }
  return ncclFloat32;
}

// Polling interval while waiting on the GPU: short next to any collective worth timing.
constexpr absl::Duration kPollInterval = absl::Microseconds(50);

}  // namespace

struct NcclCommunicator::Handles {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t produced = nullptr;  // recorded on the producer's stream before each collective
  bool aborted = false;
  void* scratch = nullptr;  // one float for Barrier
};

int CudaDeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
}

absl::StatusOr<std::string> NewNcclUniqueId() {
  ncclUniqueId id;
  RETURN_IF_ERROR(NcclError(ncclGetUniqueId(&id), "ncclGetUniqueId"));
  return std::string(id.internal, sizeof(id.internal));
}

absl::StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(
    const NcclOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", options.rank, " not in world of ",
                                                   options.world_size));
  }
  ncclUniqueId id;
  if (options.unique_id.size() != sizeof(id.internal)) {
    return absl::InvalidArgumentError(absl::StrCat("NCCL unique id has ", options.unique_id.size(),
                                                   " bytes, expected ", sizeof(id.internal)));
  }
  int devices = CudaDeviceCount();
  if (options.device < 0 || options.device >= devices) {
    return absl::FailedPreconditionError(absl::StrCat(
        "rank ", options.rank, ": CUDA device ", options.device, " not available (",
        devices, " visible)"));
  }
  std::copy(options.unique_id.begin(), options.unique_id.end(), id.internal);
  RETURN_IF_ERROR(CudaError(cudaSetDevice(options.device), "cudaSetDevice"));
  auto handles = std::make_unique<Handles>();
  RETURN_IF_ERROR(CudaError(cudaStreamCreateWithFlags(&handles->stream, cudaStreamNonBlocking),
                            "cudaStreamCreate"));
  RETURN_IF_ERROR(CudaError(cudaEventCreateWithFlags(&handles->produced, cudaEventDisableTiming),
                            "cudaEventCreate"));
  // Non-blocking init so that a rank that never arrives ends in a timeout, not a hang.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  RETURN_IF_ERROR(NcclError(ncclCommInitRankConfig(&handles->comm, options.world_size, id,
                                                   options.rank, &config),
                            "ncclCommInitRankConfig"));
  std::unique_ptr<NcclCommunicator> communicator(
      new NcclCommunicator(options, std::move(handles)));
  RETURN_IF_ERROR(communicator->AwaitCompletion("NCCL initialisation"));
  return communicator;
}

NcclCommunicator::NcclCommunicator(const NcclOptions& options, std::unique_ptr<Handles> handles)
    : options_(options), handles_(std::move(handles)) {}

NcclCommunicator::~NcclCommunicator() {
  if (handles_->comm != nullptr) {
    if (handles_->aborted) {
      // Already aborted: the communicator is gone.
    } else {
      ncclCommDestroy(handles_->comm);
    }
  }
  if (handles_->scratch != nullptr) cudaFree(handles_->scratch);
  if (handles_->produced != nullptr) cudaEventDestroy(handles_->produced);
  if (handles_->stream != nullptr) cudaStreamDestroy(handles_->stream);
}

absl::Status NcclCommunicator::FollowProducer(void* producer_stream) {
  // The calling thread may not be the one that created the communicator, and the legacy
  // default stream is the current device's.
  RETURN_IF_ERROR(CudaError(cudaSetDevice(options_.device), "cudaSetDevice"));
  auto producer = static_cast<cudaStream_t>(producer_stream);
  RETURN_IF_ERROR(CudaError(cudaEventRecord(handles_->produced, producer), "cudaEventRecord"));
  return CudaError(cudaStreamWaitEvent(handles_->stream, handles_->produced, 0),
                   "cudaStreamWaitEvent");
}

absl::Status NcclCommunicator::AwaitCompletion(absl::string_view what) {
  if (handles_->aborted) return absl::FailedPreconditionError("communicator was aborted");
  absl::Time deadline = absl::Now() + options_.timeout;
  while (true) {
    ncclResult_t async = ncclSuccess;
    RETURN_IF_ERROR(NcclError(ncclCommGetAsyncError(handles_->comm, &async),
                              "ncclCommGetAsyncError"));
    if (async != ncclSuccess && async != ncclInProgress) {
      ncclCommAbort(handles_->comm);
      handles_->aborted = true;
      return absl::InternalError(absl::StrCat("rank ", options_.rank, ": ", what, " failed: ",
                                              ncclGetErrorString(async)));
    }
    cudaError_t stream_state = cudaStreamQuery(handles_->stream);
    if (async == ncclSuccess && stream_state == cudaSuccess) return absl::OkStatus();
    if (stream_state != cudaSuccess && stream_state != cudaErrorNotReady) {
      return CudaError(stream_state, what);
    }
    if (absl::Now() > deadline) {
      ncclCommAbort(handles_->comm);
      handles_->aborted = true;
      return absl::DeadlineExceededError(absl::StrCat(
          "rank ", options_.rank, " of ", options_.world_size, ": ", what, " did not complete in ",
          absl::FormatDuration(options_.timeout), "; a peer rank did not arrive"));
    }
    std::this_thread::sleep_for(absl::ToChronoMicroseconds(kPollInterval));
  }
}

absl::Status NcclCommunicator::AllReduce(void* device_buffer, size_t count, NcclType type,
                                         bool average, void* producer_stream) {
  if (handles_->aborted) return absl::FailedPreconditionError("communicator was aborted");
  RETURN_IF_ERROR(FollowProducer(producer_stream));
  ncclRedOp_t op = average ? ncclAvg : ncclSum;
  RETURN_IF_ERROR(NcclError(ncclAllReduce(device_buffer, device_buffer, count, ToNccl(type), op,
                                          handles_->comm, handles_->stream),
                            "ncclAllReduce"));
  return AwaitCompletion("all-reduce");
}

absl::Status NcclCommunicator::Broadcast(void* device_buffer, size_t count, NcclType type,
                                         int root, void* producer_stream) {
  if (handles_->aborted) return absl::FailedPreconditionError("communicator was aborted");
  if (root < 0 || root >= options_.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " is not a rank"));
  }
  RETURN_IF_ERROR(FollowProducer(producer_stream));
  RETURN_IF_ERROR(NcclError(ncclBroadcast(device_buffer, device_buffer, count, ToNccl(type), root,
                                          handles_->comm, handles_->stream),
                            "ncclBroadcast"));
  return AwaitCompletion("broadcast");
}

absl::Status NcclCommunicator::Barrier() {
  if (handles_->scratch == nullptr) {
    RETURN_IF_ERROR(CudaError(cudaMalloc(&handles_->scratch, sizeof(float)), "cudaMalloc"));
  }
  return AllReduce(handles_->scratch, 1, NcclType::kFloat32, false);
}

}  // namespace rein::dist
