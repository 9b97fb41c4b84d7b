// ZeRO stage 1 (learner.zero_stage 1): one model's AdamW state sharded across the data-parallel
// ranks. Every rank keeps the whole model and its whole (all-reduced) gradient, but AdamW
// moments only for the parameters it owns, so optimizer state per rank is about 1/R of it.
//
// A step: gradients are all-reduced and clipped over all parameters as without sharding (the
// caller does that, identically on every rank); Step() then runs AdamW on the owned parameters
// only and broadcasts each parameter from its owner to every rank. On CPU every rank ends with
// the bits an unsharded step gives (AdamW updates each parameter on its own).
//
// The plan (which rank owns which parameter) follows from the parameters' shapes alone, so every
// rank computes the same one without talking. Indices are those of AdamW::parameters(), the ones
// a checkpoint's optimizer state uses.
//
// Works on any tensors the communicator takes (CPU for Gloo, CUDA for NCCL).
// Ownership: refers to the optimizer and the communicator, which must outlive it.
// Thread safety: none; collectives, so every rank calls Step and Gather in the same order as
// every other collective.
#ifndef REIN_SERVICES_LEARNER_OPTIMIZER_SHARD_H_
#define REIN_SERVICES_LEARNER_OPTIMIZER_SHARD_H_

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "common/dist/communicator.h"
#include "common/rl/optim.h"

namespace rein::learner {

// The owner rank of each of `params`, balanced by element count: largest parameter first (ties
// by index), each to the rank with the fewest elements so far (ties to the lower rank). Every
// rank's share is within one parameter of total / ranks.
std::vector<int> PartitionByElements(const std::vector<at::Tensor>& params, int ranks);

class OptimizerShard {
 public:
  // Shards `optimizer` over the communicator's ranks and drops the state of the parameters
  // other ranks own (a state restored whole keeps this rank's part). Parameter broadcasts are
  // coalesced into buffers of about `bucket_bytes`.
  OptimizerShard(rl::AdamW& optimizer, dist::Communicator& comm, size_t bucket_bytes);
  OptimizerShard(const OptimizerShard&) = delete;
  OptimizerShard& operator=(const OptimizerShard&) = delete;

  const std::vector<int>& owners() const { return owners_; }
  bool owns(size_t i) const { return owners_[i] == rank_; }

  // After the gradients are final (all-reduced, clipped) and the learning rate set: AdamW on
  // the owned parameters (the others' gradients are dropped first), then every parameter from
  // its owner to every rank. The optimizer's or the communicator's error.
  absl::Status Step();

  // The state of every parameter that has one, in index order, each broadcast from its owner:
  // `sink(i, state)` on every rank, its tensors valid until the sink returns or longer if it
  // keeps them (a view of one buffer per parameter). The communicator's error.
  absl::Status Gather(absl::FunctionRef<void(size_t, const rl::AdamWParamState&)> sink);

 private:
  absl::Status BroadcastParameters();
  absl::Status BroadcastChunk(const std::vector<at::Tensor>& chunk, int owner);

  rl::AdamW& optimizer_;
  dist::Communicator& comm_;
  const size_t bucket_bytes_;
  const int rank_;
  std::vector<int> owners_;
  // Parameter indices by owner, ascending.
  std::vector<std::vector<size_t>> owned_by_;
};

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_OPTIMIZER_SHARD_H_
