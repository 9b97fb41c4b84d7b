#include "common/tokenizer/internal/merge_cache.h"

#include "absl/hash/hash.h"

namespace rein::tokenizer::internal {

MergeCache::MergeCache(size_t capacity)
    : shard_capacity_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

MergeCache::Shard& MergeCache::ShardFor(absl::string_view key) const {
  // The top bits: the map uses the low ones.
  return shards_[(absl::Hash<absl::string_view>{}(key) >> 52) % kShards];
}

bool MergeCache::Lookup(absl::string_view key, std::vector<TokenId>* out) const {
  if (shard_capacity_ == 0 || key.size() > kMaxKeyBytes) return false;
  Shard& shard = ShardFor(key);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return false;
  out->insert(out->end(), it->second.begin(), it->second.end());
  return true;
}

void MergeCache::Insert(absl::string_view key, absl::Span<const TokenId> ids) {
  if (shard_capacity_ == 0 || key.size() > kMaxKeyBytes) return;
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  if (shard.map.size() >= shard_capacity_) return;
  shard.map.try_emplace(key, ids.begin(), ids.end());
}

}  // namespace rein::tokenizer::internal
