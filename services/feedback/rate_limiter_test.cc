#include "services/feedback/rate_limiter.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"

namespace rein::feedback {
namespace {

TEST_CASE("rate limiter: a burst of per_minute, then one token per 60/per_minute seconds") {
  RateLimiter limiter(60);  // one a second
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  for (int i = 0; i < 60; ++i) CHECK(limiter.Allow("alice", t0));
  CHECK_FALSE(limiter.Allow("alice", t0));
  CHECK(limiter.Allow("bob", t0));  // buckets are per key
  CHECK_FALSE(limiter.Allow("alice", t0 + absl::Milliseconds(500)));
  CHECK(limiter.Allow("alice", t0 + absl::Seconds(1)));
  CHECK_FALSE(limiter.Allow("alice", t0 + absl::Seconds(1)));
}

TEST_CASE("rate limiter: zero is unlimited, the key table stays bounded") {
  RateLimiter unlimited(0);
  for (int i = 0; i < 10000; ++i) CHECK(unlimited.Allow("x", absl::FromUnixSeconds(1)));
  RateLimiter limiter(10, /*max_keys=*/100);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  // A thousand distinct keys cannot grow memory past the bound, and a key that was evicted
  // starts again with a full bucket (eviction never makes the limit stricter).
  for (int i = 0; i < 1000; ++i) CHECK(limiter.Allow(absl::StrCat("k", i), t0 + absl::Seconds(i)));
  for (int i = 0; i < 10; ++i) CHECK(limiter.Allow("k999", t0 + absl::Seconds(999)) == (i < 9));
}

}  // namespace
}  // namespace rein::feedback
