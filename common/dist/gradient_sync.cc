#include "common/dist/gradient_sync.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros_like.h>

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rein::dist {

absl::StatusOr<std::unique_ptr<GradientSync>> GradientSync::Create(
    Communicator& comm, std::vector<at::Tensor> params, const GradientSyncOptions& options) {
  if (params.empty()) return absl::InvalidArgumentError("GradientSync: no parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].defined() || !params[i].requires_grad() || !params[i].is_leaf()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GradientSync: parameter ", i, " is not a defined leaf tensor that requires grad"));
    }
  }
  try {
    return std::unique_ptr<GradientSync>(new GradientSync(comm, std::move(params), options));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("GradientSync: ", e.what()));
  }
}

GradientSync::GradientSync(Communicator& comm, std::vector<at::Tensor> params,
                           const GradientSyncOptions& options)
    : comm_(comm), options_(options), params_(std::move(params)), slots_(params_.size()) {
  // Reverse order: backward finishes the last layers first.
  size_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const at::Tensor& p = params_[k];
    const size_t p_bytes = static_cast<size_t>(p.numel()) * p.element_size();
    const bool new_bucket =
        buckets_.empty() ||
        buckets_.back().buffer.scalar_type() != p.scalar_type() ||
        (bytes > 0 && bytes + p_bytes > options_.bucket_bytes);
    if (new_bucket) {
      buckets_.emplace_back();
      buckets_.back().buffer = at::empty({0}, p.options().requires_grad(false));
      bytes = 0;
    }
    Bucket& bucket = buckets_.back();
    slots_[k] = {.bucket = buckets_.size() - 1,
                 .offset = bytes == 0 ? 0 : slots_[bucket.params.back()].offset +
                                                 slots_[bucket.params.back()].numel,
                 .numel = p.numel()};
    bucket.params.push_back(k);
    bytes += p_bytes;
  }
  for (Bucket& bucket : buckets_) {
    const Slot& last = slots_[bucket.params.back()];
    bucket.buffer = at::empty({last.offset + last.numel}, bucket.buffer.options());
  }
  {
    absl::MutexLock lock(&mu_);
    filled_.assign(params_.size(), false);
    StartRound();
  }
  if (options_.overlap) {
    for (size_t k = 0; k < params_.size(); ++k) {
      hooks_.push_back(
          params_[k].register_hook([this, k](const at::Tensor& grad) { OnGradient(k, grad); }));
    }
  }
}

GradientSync::~GradientSync() {
  for (size_t k = 0; k < hooks_.size(); ++k) {
    try {
      params_[k].remove_hook(hooks_[k]);
    } catch (const std::exception&) {
      // The tensor outlived its autograd metadata: nothing left to unhook.
    }
  }
  Reset();
}

void GradientSync::StartRound() {
  for (Bucket& bucket : buckets_) {
    bucket.missing = bucket.params.size();
    bucket.pending.reset();
  }
  filled_.assign(params_.size(), false);
  next_launch_ = 0;
  armed_ = false;
}

void GradientSync::ArmForLastBackward() {
  absl::MutexLock lock(&mu_);
  armed_ = options_.overlap;
}

void GradientSync::Fill(size_t index, const at::Tensor& extra) {
  const Slot& slot = slots_[index];
  at::Tensor out = buckets_[slot.bucket].buffer.narrow(0, slot.offset, slot.numel);
  const at::Tensor& grad = params_[index].grad();
  if (grad.defined()) {
    out.copy_(grad.reshape({-1}));
    if (extra.defined()) out.add_(extra.reshape({-1}));
  } else if (extra.defined()) {
    out.copy_(extra.reshape({-1}));
  } else {
    out.zero_();
  }
  filled_[index] = true;
  --buckets_[slot.bucket].missing;
}

void GradientSync::OnGradient(size_t index, const at::Tensor& grad) {
  absl::MutexLock lock(&mu_);
  if (!armed_ || filled_[index] || !error_.ok()) return;
  try {
    at::NoGradGuard no_grad;
    Fill(index, grad);
    LaunchComplete();
  } catch (const std::exception& e) {
    error_ = absl::InternalError(absl::StrCat("gradient hook: ", e.what()));
  }
}

void GradientSync::LaunchComplete() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].missing == 0 && error_.ok()) {
    Bucket& bucket = buckets_[next_launch_];
    absl::StatusOr<std::unique_ptr<PendingCollective>> pending =
        comm_.AllReduceAsync(bucket.buffer, ReduceOp::kAverage);
    if (!pending.ok()) {
      error_ = pending.status();
      return;
    }
    bucket.pending = *std::move(pending);
    ++next_launch_;
  }
}

absl::Status GradientSync::WaitAll() {
  for (Bucket& bucket : buckets_) {
    if (bucket.pending == nullptr) continue;
    absl::Status done = bucket.pending->Wait();
    bucket.pending.reset();
    if (error_.ok() && !done.ok()) error_ = done;
  }
  return error_;
}

absl::Status GradientSync::Finish() {
  absl::MutexLock lock(&mu_);
  absl::Status status;
  try {
    at::NoGradGuard no_grad;
    overlapped_ = next_launch_;
    for (size_t k = 0; k < params_.size(); ++k) {
      if (!filled_[k]) Fill(k, at::Tensor());
    }
    LaunchComplete();
    status = WaitAll();
    if (status.ok()) {
      for (size_t k = 0; k < params_.size(); ++k) {
        const Slot& slot = slots_[k];
        const at::Tensor reduced =
            buckets_[slot.bucket].buffer.narrow(0, slot.offset, slot.numel).view_as(params_[k]);
        if (params_[k].grad().defined()) {
          params_[k].mutable_grad().copy_(reduced);
        } else {
          params_[k].mutable_grad() = reduced.clone();
        }
      }
    }
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("gradient all-reduce: ", e.what()));
  }
  error_ = absl::OkStatus();
  StartRound();
  return status;
}

void GradientSync::Reset() {
  absl::MutexLock lock(&mu_);
  WaitAll().IgnoreError();
  error_ = absl::OkStatus();
  StartRound();
}

size_t GradientSync::last_overlapped() const {
  absl::MutexLock lock(&mu_);
  return overlapped_;
}

}  // namespace rein::dist
