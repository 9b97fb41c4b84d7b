#include "services/feedback/rate_limiter.h"

#include <algorithm>
#include <vector>

namespace rein::feedback {

bool RateLimiter::Allow(const std::string& key, absl::Time now) {
  if (per_minute_ <= 0) return true;
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) Evict(now);
    it = buckets_.emplace(key, Bucket{per_minute_, now}).first;
  }
  Bucket& b = it->second;
  const double refill = absl::ToDoubleMinutes(now - b.updated) * per_minute_;
  b.tokens = std::min(per_minute_, b.tokens + std::max(0.0, refill));
  b.updated = std::max(b.updated, now);
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

void RateLimiter::Evict(absl::Time now) {
  const absl::Duration full = absl::Minutes(1);
  absl::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.updated >= full; });
  if (buckets_.size() < max_keys_) return;
  std::vector<absl::Time> times;
  times.reserve(buckets_.size());
  for (const auto& [key, bucket] : buckets_) times.push_back(bucket.updated);
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  const absl::Time median = times[times.size() / 2];
  absl::erase_if(buckets_, [&](const auto& kv) { return kv.second.updated <= median; });
}

}  // namespace rein::feedback
