// The byte-level BPE model: the vocabulary (kept as raw bytes, so that pre-tokens need no
// character mapping) and the ranked merges, applied lowest rank first, leftmost first among
// equal ranks, as HF tokenizers does. Repeated pre-tokens are served from a MergeCache.
// Immutable after Create except for the internally locked cache; thread safe.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_BPE_MODEL_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_BPE_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tokenizer/internal/merge_cache.h"
#include "common/tokenizer/internal/tokenizer_spec.h"

namespace rein::tokenizer::internal {

class BpeModel {
 public:
  // INVALID_ARGUMENT naming `spec.source` for duplicate ids, or merges whose parts or result
  // are not in the vocabulary.
  static absl::StatusOr<std::unique_ptr<BpeModel>> Create(const TokenizerSpec& spec,
                                                          size_t cache_capacity);

  // Appends the ids of one pre-token, given as raw bytes.
  void Encode(absl::string_view piece, std::vector<TokenId>* out) const;

  // One more than the largest vocabulary id.
  TokenId size() const { return static_cast<TokenId>(entries_.size()); }
  // The vocabulary entry `id`: false if there is none.
  bool Has(TokenId id) const { return id >= 0 && id < size() && entries_[id].present; }
  // Raw bytes of `id` (what decoding emits). Requires Has(id).
  const std::string& Bytes(TokenId id) const { return entries_[id].bytes; }
  // The vocabulary's own spelling of `id` (byte-level characters). Requires Has(id).
  std::string VocabForm(TokenId id) const;
  // Id of the token spelled `token` in the vocabulary's own form.
  std::optional<TokenId> Find(absl::string_view token) const;

 private:
  struct Entry {
    std::string bytes;  // Raw bytes; for a verbatim entry, the UTF-8 of its spelling.
    bool present = false;
    bool verbatim = false;  // Spelled with characters outside the byte-level alphabet.
  };
  struct Merge {
    int32_t rank;
    TokenId merged;
  };
  static uint64_t PairKey(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  explicit BpeModel(size_t cache_capacity) : cache_(cache_capacity) {}
  // Merges the bytes of `piece` by rank and appends the resulting ids.
  void MergeBytes(absl::string_view piece, std::vector<TokenId>* out) const;

  std::vector<Entry> entries_;
  absl::flat_hash_map<std::string, TokenId> bytes_to_id_;  // Byte-level entries.
  absl::flat_hash_map<std::string, TokenId> verbatim_to_id_;
  absl::flat_hash_map<uint64_t, Merge> merges_;
  std::array<TokenId, 256> byte_ids_;  // -1 where a byte has no token.
  std::optional<TokenId> unk_id_;
  bool ignore_merges_ = false;
  mutable MergeCache cache_;
};

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_BPE_MODEL_H_
