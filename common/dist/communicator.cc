#include "common/dist/communicator.h"

#include <ATen/ops/from_blob.h>

#include <utility>

#include "common/status/status_macros.h"

namespace rein::dist {

absl::Status Communicator::AllReduce(at::Tensor tensor, ReduceOp op) {
  ASSIGN_OR_RETURN(std::unique_ptr<PendingCollective> pending, AllReduceAsync(tensor, op));
  return pending->Wait();
}

absl::StatusOr<std::vector<double>> SumOverRanks(Communicator* comm, std::vector<double> values) {
  if (comm == nullptr || comm->world_size() == 1 || values.empty()) return values;
  // A view of `values`: the all-reduce writes the sums in place.
  at::Tensor view = at::from_blob(values.data(), {static_cast<int64_t>(values.size())},
                                  at::TensorOptions().dtype(at::kDouble));
  RETURN_IF_ERROR(comm->AllReduce(view, ReduceOp::kSum));
  return values;
}

}  // namespace rein::dist
