#include "services/learner/optimizer_shard.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/stack.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>

#include "common/status/status_macros.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {
namespace {

size_t Bytes(const at::Tensor& t) { return static_cast<size_t>(t.numel() * t.element_size()); }

}  // namespace

std::vector<int> PartitionByElements(const std::vector<at::Tensor>& params, int ranks) {
  std::vector<size_t> order(params.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return params[a].numel() > params[b].numel(); });
  std::vector<int64_t> load(static_cast<size_t>(std::max(1, ranks)), 0);
  std::vector<int> owners(params.size(), 0);
  for (size_t i : order) {
    // min_element picks the first (lowest) rank among equally loaded ones.
    const auto lightest = std::min_element(load.begin(), load.end());
    owners[i] = static_cast<int>(lightest - load.begin());
    *lightest += params[i].numel();
  }
  return owners;
}

OptimizerShard::OptimizerShard(rl::AdamW& optimizer, dist::Communicator& comm, size_t bucket_bytes)
    : optimizer_(optimizer),
      comm_(comm),
      bucket_bytes_(std::max<size_t>(1, bucket_bytes)),
      rank_(comm.rank()),
      owners_(PartitionByElements(optimizer.parameters(), comm.world_size())),
      owned_by_(static_cast<size_t>(comm.world_size())) {
  for (size_t i = 0; i < owners_.size(); ++i) {
    owned_by_[static_cast<size_t>(owners_[i])].push_back(i);
    if (!owns(i)) optimizer_.ClearParamState(i);
  }
}

absl::Status OptimizerShard::Step() {
  // AdamW skips a parameter without a gradient: it neither gets state nor moves.
  for (size_t i = 0; i < owners_.size(); ++i) {
    if (owns(i)) continue;
    at::Tensor p = optimizer_.parameters()[i];
    p.mutable_grad() = at::Tensor();
  }
  RETURN_IF_ERROR(optimizer_.Step());
  return BroadcastParameters();
}

absl::Status OptimizerShard::BroadcastParameters() {
  const std::vector<at::Tensor>& params = optimizer_.parameters();
  return GuardTorch("parameter broadcast", [&]() -> absl::Status {
    at::NoGradGuard no_grad;
    for (int owner = 0; owner < comm_.world_size(); ++owner) {
      // Consecutive parameters of one dtype, up to bucket_bytes_, go in one buffer.
      std::vector<at::Tensor> chunk;
      size_t bytes = 0;
      for (size_t i : owned_by_[static_cast<size_t>(owner)]) {
        const at::Tensor& p = params[i];
        if (!chunk.empty() &&
            (p.scalar_type() != chunk.front().scalar_type() || bytes + Bytes(p) > bucket_bytes_)) {
          RETURN_IF_ERROR(BroadcastChunk(chunk, owner));
          chunk.clear();
          bytes = 0;
        }
        chunk.push_back(p);
        bytes += Bytes(p);
      }
      if (!chunk.empty()) RETURN_IF_ERROR(BroadcastChunk(chunk, owner));
    }
    return absl::OkStatus();
  });
}

absl::Status OptimizerShard::BroadcastChunk(const std::vector<at::Tensor>& chunk, int owner) {
  if (chunk.size() == 1 && chunk.front().is_contiguous()) {
    return comm_.Broadcast(chunk.front().detach(), owner);
  }
  at::Tensor flat;
  if (owner == rank_) {
    std::vector<at::Tensor> pieces;
    pieces.reserve(chunk.size());
    for (const at::Tensor& p : chunk) pieces.push_back(p.detach().reshape({-1}));
    flat = at::cat(pieces);
  } else {
    int64_t numel = 0;
    for (const at::Tensor& p : chunk) numel += p.numel();
    flat = at::empty({numel}, chunk.front().options());
  }
  RETURN_IF_ERROR(comm_.Broadcast(flat, owner));
  if (owner == rank_) return absl::OkStatus();
  int64_t offset = 0;
  for (const at::Tensor& p : chunk) {
    at::Tensor target = p.detach();
    target.copy_(flat.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }
  return absl::OkStatus();
}

absl::Status OptimizerShard::Gather(
    absl::FunctionRef<void(size_t, const rl::AdamWParamState&)> sink) {
  const std::vector<at::Tensor>& params = optimizer_.parameters();
  return GuardTorch("optimizer state gather", [&]() -> absl::Status {
    at::NoGradGuard no_grad;
    // First each owner's step counts (-1: no state yet), so that every rank knows which
    // parameters' moments follow; on the parameters' device, where NCCL wants them.
    std::vector<int64_t> steps(params.size(), -1);
    for (int owner = 0; owner < comm_.world_size(); ++owner) {
      const std::vector<size_t>& owned = owned_by_[static_cast<size_t>(owner)];
      if (owned.empty()) continue;
      std::vector<int64_t> counts(owned.size(), -1);
      if (owner == rank_) {
        for (size_t k = 0; k < owned.size(); ++k) {
          if (auto state = optimizer_.ParamState(owned[k])) counts[k] = state->step;
        }
      }
      at::Tensor sent =
          at::from_blob(counts.data(), {static_cast<int64_t>(counts.size())}, at::kLong)
              .to(params[owned.front()].device(), /*non_blocking=*/false, /*copy=*/true);
      RETURN_IF_ERROR(comm_.Broadcast(sent, owner));
      const at::Tensor received = sent.to(at::kCPU).contiguous();
      for (size_t k = 0; k < owned.size(); ++k) steps[owned[k]] = received.data_ptr<int64_t>()[k];
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (steps[i] < 0) continue;
      const at::Tensor& p = params[i];
      at::Tensor moments;
      if (owns(i)) {
        const rl::AdamWParamState state = *optimizer_.ParamState(i);
        moments = at::stack(
            {state.exp_avg.detach().to(p.options()), state.exp_avg_sq.detach().to(p.options())});
      } else {
        std::vector<int64_t> shape = {2};
        shape.insert(shape.end(), p.sizes().begin(), p.sizes().end());
        moments = at::empty(shape, p.options());
      }
      RETURN_IF_ERROR(comm_.Broadcast(moments, owners_[i]));
      sink(i,
           rl::AdamWParamState{.step = steps[i], .exp_avg = moments[0], .exp_avg_sq = moments[1]});
    }
    return absl::OkStatus();
  });
}

}  // namespace rein::learner
