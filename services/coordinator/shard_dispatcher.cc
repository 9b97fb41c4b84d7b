#include "services/coordinator/shard_dispatcher.h"

#include <algorithm>

namespace rein::coordinator {

bool IsReplicaFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

bool RangeQueue::Take(size_t capacity, Range* range) {
  absl::MutexLock lock(&mu_);
  // With nothing left to hand out but ranges still in flight elsewhere, wait: a replica that
  // fails gives its range back, and it must find a taker.
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !returned_.empty() || cursor_ < remaining_ || in_flight_ == 0;
  };
  mu_.Await(absl::Condition(&ready));
  if (!returned_.empty()) {
    Range front = returned_.front();
    returned_.pop_front();
    // A re-issued range larger than this replica's capacity is split again.
    if (front.size() > capacity) {
      returned_.push_front(Range{front.begin + capacity, front.end});
      front.end = front.begin + capacity;
    }
    *range = front;
    ++in_flight_;
    return true;
  }
  if (cursor_ >= remaining_) return false;
  size_t end = std::min(remaining_, cursor_ + std::max<size_t>(capacity, 1));
  *range = Range{cursor_, end};
  cursor_ = end;
  ++in_flight_;
  return true;
}

void RangeQueue::GiveBack(Range range) {
  absl::MutexLock lock(&mu_);
  returned_.push_back(range);
  --in_flight_;
}

bool RangeQueue::Empty() const {
  absl::MutexLock lock(&mu_);
  return returned_.empty() && cursor_ >= remaining_ && in_flight_ == 0;
}

}  // namespace rein::coordinator
