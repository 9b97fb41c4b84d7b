// Per-key token buckets: at most `per_minute` events a minute with bursts of the same size.
// Memory is bounded: past `max_keys` keys the buckets that have refilled completely (they hold
// no information) are dropped, and if none has, the oldest half is.
//
// Thread safety: safe to call concurrently.
#ifndef REIN_SERVICES_FEEDBACK_RATE_LIMITER_H_
#define REIN_SERVICES_FEEDBACK_RATE_LIMITER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rein::feedback {

class RateLimiter {
 public:
  // per_minute 0 = unlimited.
  explicit RateLimiter(double per_minute, size_t max_keys = 100000)
      : per_minute_(per_minute), max_keys_(max_keys) {}

  // Takes one token from `key`'s bucket at `now`; false when it is empty.
  bool Allow(const std::string& key, absl::Time now);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  void Evict(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double per_minute_;
  const size_t max_keys_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_RATE_LIMITER_H_
