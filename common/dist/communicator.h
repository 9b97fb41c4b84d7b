// The one interface a data-parallel learner rank uses for collectives, whatever the backend:
// Gloo for CPU tensors (gloo_communicator.h), NCCL for CUDA tensors (nccl_collectives.h, built
// where CUDA and NCCL are found). Create one with CreateCommunicator (rendezvous.h).
//
// Contract (as c10d's ProcessGroup): every rank of the group calls the collectives of a
// communicator in the same order, with tensors of the same shape and dtype. Every collective
// has a timeout; a rank that does not arrive (dead, hung) makes the others fail with an error
// that names this rank and, where it can be told, the ranks that did not arrive — never a hang.
// After a failed collective the communicator is broken: every later call fails at once with
// FAILED_PRECONDITION (the group must be re-formed; the learner process restarts).
//
// Speaks for one rank (rank()) of a group of world_size() ranks.
// Thread safety: collectives may be started from any thread, but the order in which they are
// started defines the group-wide order, so callers start them from one thread at a time.
#ifndef REIN_COMMON_DIST_COMMUNICATOR_H_
#define REIN_COMMON_DIST_COMMUNICATOR_H_

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rein::dist {

enum class ReduceOp { kSum, kAverage, kMin, kMax };

// A collective started by an *Async call. Wait() returns once the result is in the tensor the
// collective was started on (which the caller keeps alive and does not touch until then).
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  // OK, or the collective's error (see the contract above). Call at most once.
  virtual absl::Status Wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // "gloo" or "nccl".
  virtual std::string backend() const = 0;

  // Starts an in-place all-reduce of `tensor` (contiguous; every rank the same shape/dtype).
  virtual absl::StatusOr<std::unique_ptr<PendingCollective>> AllReduceAsync(at::Tensor tensor,
                                                                            ReduceOp op) = 0;
  // AllReduceAsync + Wait.
  absl::Status AllReduce(at::Tensor tensor, ReduceOp op);

  // In-place broadcast of `tensor` from rank `root` to every rank; returns when done.
  virtual absl::Status Broadcast(at::Tensor tensor, int root) = 0;

  // Returns once every rank has called Barrier (or fails as any collective).
  virtual absl::Status Barrier() = 0;
};

// Sum of `values` over ranks (double precision; one small all-reduce). `comm` null = one rank:
// the values are returned unchanged.
absl::StatusOr<std::vector<double>> SumOverRanks(Communicator* comm, std::vector<double> values);

}  // namespace rein::dist

#endif  // REIN_COMMON_DIST_COMMUNICATOR_H_
