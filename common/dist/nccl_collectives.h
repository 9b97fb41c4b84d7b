// The Communicator interface over NcclCommunicator, for CUDA tensors. Built only where CUDA
// and NCCL are found (REIN_HAVE_NCCL). Rendezvous: rank 0 makes the NCCL unique id and sets it
// in the store ("rein/nccl_id"); the other ranks read it from there.
//
// NCCL collectives here are synchronous: AllReduceAsync returns a collective that has already
// completed (no overlap with the backward pass on this backend yet).
// Ownership: owns the NcclCommunicator. Speaks for options.rank. Thread safety: Communicator's.
#ifndef REIN_COMMON_DIST_NCCL_COLLECTIVES_H_
#define REIN_COMMON_DIST_NCCL_COLLECTIVES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/dist/communicator.h"
#include "common/dist/gloo_communicator.h"

namespace rein::dist {

struct NcclGroupOptions {
  int rank = 0;
  int world_size = 1;
  int device = 0;  // CUDA ordinal (LOCAL_RANK)
  absl::Duration timeout = absl::Minutes(5);
};

absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(
    const NcclGroupOptions& options, const StorePtr& store);

}  // namespace rein::dist

#endif  // REIN_COMMON_DIST_NCCL_COLLECTIVES_H_
