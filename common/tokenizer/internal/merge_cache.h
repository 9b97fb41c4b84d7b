// A bounded cache from a pre-token (raw bytes) to its BPE ids, shared by concurrent encoders.
// Sharded, each shard behind its own mutex; when a shard is full, new entries are not added
// (what is cached stays valid forever, so there is nothing to evict for correctness).
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_MERGE_CACHE_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_MERGE_CACHE_H_

#include <array>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::tokenizer::internal {

class MergeCache {
 public:
  // Pre-tokens longer than this are never cached.
  static constexpr size_t kMaxKeyBytes = 256;

  // Holds at most about `capacity` entries; 0 disables the cache.
  explicit MergeCache(size_t capacity);
  MergeCache(const MergeCache&) = delete;
  MergeCache& operator=(const MergeCache&) = delete;

  // Appends the cached ids of `key` to `out` and returns true, or returns false.
  bool Lookup(absl::string_view key, std::vector<TokenId>* out) const;
  void Insert(absl::string_view key, absl::Span<const TokenId> ids);

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, absl::InlinedVector<TokenId, 4>> map ABSL_GUARDED_BY(mu);
  };
  Shard& ShardFor(absl::string_view key) const;

  const size_t shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_MERGE_CACHE_H_
