// NCCL collectives for CUDA buffers, behind absl::Status. Built only where CUDA and NCCL are
// found (REIN_HAVE_NCCL); on a machine without a GPU, Create() fails with FAILED_PRECONDITION.
//
// Rendezvous: rank 0 calls NewNcclUniqueId() and shares the bytes with the other ranks (through
// the coordinator's key-value store); every rank then calls Create() with the same id.
//
// Contract (as for every collective library): all ranks call the collectives of a
// communicator in the same order. Every call has a timeout; a rank that does not arrive makes
// the others fail with DEADLINE_EXCEEDED (the communicator is aborted) instead of hanging.
// Thread safety: one thread at a time per communicator.
#ifndef REIN_COMMON_DIST_NCCL_COMMUNICATOR_H_
#define REIN_COMMON_DIST_NCCL_COMMUNICATOR_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rein::dist {

// Element types the collectives accept (a subset of ncclDataType_t).
enum class NcclType { kFloat32, kFloat16, kBFloat16, kFloat64, kInt32, kInt64 };

struct NcclOptions {
  int rank = 0;
  int world_size = 1;
  // CUDA device ordinal this rank uses (usually LOCAL_RANK).
  int device = 0;
  // From NewNcclUniqueId() on rank 0; the same bytes on every rank.
  std::string unique_id;
  // Longest wait for initialisation or one collective before aborting. Default 5 minutes.
  absl::Duration timeout = absl::Minutes(5);
};

// A fresh NCCL unique id (opaque bytes) for a new communicator.
absl::StatusOr<std::string> NewNcclUniqueId();

// Number of CUDA devices visible; 0 (not an error) when there are none.
int CudaDeviceCount();

class NcclCommunicator {
 public:
  static absl::StatusOr<std::unique_ptr<NcclCommunicator>> Create(const NcclOptions& options);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  // In-place all-reduce of `count` elements at `device_buffer` (memory on this rank's
  // device): the sum, or the mean when `average`. Returns once the result is in place.
  //
  // `producer_stream` (a cudaStream_t; nullptr is the legacy default stream, where LibTorch
  // queues its kernels unless told otherwise) is the stream whose queued work writes the
  // buffer: the collective runs on the communicator's own non-blocking stream, which would not
  // otherwise wait for that work.
  absl::Status AllReduce(void* device_buffer, size_t count, NcclType type, bool average,
                         void* producer_stream = nullptr);

  // In-place broadcast of `count` elements at `device_buffer` from rank `root`, after the work
  // queued on `producer_stream` (as for AllReduce).
  absl::Status Broadcast(void* device_buffer, size_t count, NcclType type, int root,
                         void* producer_stream = nullptr);

  // Returns once every rank has called Barrier (an all-reduce of one scratch element).
  absl::Status Barrier();

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

 private:
  struct Handles;
  NcclCommunicator(const NcclOptions& options, std::unique_ptr<Handles> handles);
  // Waits for the communicator's pending work; aborts it on error or timeout.
  absl::Status AwaitCompletion(absl::string_view what);
  // Makes the communicator's stream wait for the work queued so far on `producer_stream`.
  absl::Status FollowProducer(void* producer_stream);

  const NcclOptions options_;
  std::unique_ptr<Handles> handles_;
};

}  // namespace rein::dist

#endif  // REIN_COMMON_DIST_NCCL_COMMUNICATOR_H_
