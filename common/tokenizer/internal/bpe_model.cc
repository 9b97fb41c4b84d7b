#include "common/tokenizer/internal/bpe_model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/tokenizer/internal/byte_level.h"

namespace rein::tokenizer::internal {
namespace {

// A symbol of the word being merged: a run of bytes with its current token id, linked to its
// alive neighbours. Invariant: `next` and `prev` only ever point at alive symbols (len > 0).
struct Symbol {
  TokenId id;
  int32_t prev;
  int32_t next;
  int32_t len;  // 0 once merged into its left neighbour.
};

// A merge that was possible when queued; stale once either side has changed.
struct Candidate {
  int32_t rank;
  int32_t pos;  // The left symbol.
  TokenId left;
  TokenId right;
  TokenId merged;
};

// Orders a max-heap so that the top is the lowest rank, then the leftmost position.
bool LaterThan(const Candidate& a, const Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::Create(const TokenizerSpec& spec,
                                                           size_t cache_capacity) {
  std::unique_ptr<BpeModel> model(new BpeModel(cache_capacity));
  TokenId max_id = -1;
  for (const auto& [token, id] : spec.vocab) max_id = std::max(max_id, id);
  model->entries_.resize(static_cast<size_t>(max_id + 1));
  model->bytes_to_id_.reserve(spec.vocab.size());
  for (const auto& [token, id] : spec.vocab) {
    Entry& entry = model->entries_[id];
    if (entry.present) {
      return absl::InvalidArgumentError(absl::StrCat(
          spec.source, ": vocabulary id ", id, " is given to more than one token (one is '",
          token, "')"));
    }
    entry.present = true;
    if (VocabFormToBytes(token, &entry.bytes)) {
      model->bytes_to_id_.emplace(entry.bytes, id);
    } else {
      entry.verbatim = true;
      entry.bytes = token;
      model->verbatim_to_id_.emplace(token, id);
    }
  }
  for (int b = 0; b < 256; ++b) {
    auto it = model->bytes_to_id_.find(std::string(1, static_cast<char>(b)));
    model->byte_ids_[b] = it != model->bytes_to_id_.end() ? it->second : -1;
  }
  model->merges_.reserve(spec.merges.size());
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    std::optional<TokenId> left_id = model->Find(left);
    std::optional<TokenId> right_id = model->Find(right);
    std::optional<TokenId> merged_id = model->Find(absl::StrCat(left, right));
    if (!left_id || !right_id || !merged_id) {
      const absl::string_view missing = !left_id    ? absl::string_view(left)
                                        : !right_id ? absl::string_view(right)
                                                    : absl::string_view();
      return absl::InvalidArgumentError(absl::StrCat(
          spec.source, ": merge ", rank, " ('", left, "' '", right, "'): ",
          missing.empty() ? absl::StrCat("the merged token '", left, right, "' is")
                          : absl::StrCat("'", missing, "' is"),
          " not in the vocabulary"));
    }
    // A repeated pair takes its last rank, as HF tokenizers' map does.
    model->merges_.insert_or_assign(PairKey(*left_id, *right_id),
                                    Merge{static_cast<int32_t>(rank), *merged_id});
  }
  if (spec.model_unk_token.has_value()) {
    model->unk_id_ = model->Find(*spec.model_unk_token);
    if (!model->unk_id_) {
      return absl::InvalidArgumentError(absl::StrCat(spec.source, ": key 'model.unk_token' ('",
                                                     *spec.model_unk_token,
                                                     "') is not in the vocabulary"));
    }
  }
  model->ignore_merges_ = spec.ignore_merges;
  return model;
}

std::string BpeModel::VocabForm(TokenId id) const {
  const Entry& entry = entries_[id];
  if (entry.verbatim) return entry.bytes;
  std::string form;
  BytesToVocabForm(entry.bytes, &form);
  return form;
}

std::optional<TokenId> BpeModel::Find(absl::string_view token) const {
  std::string bytes;
  if (VocabFormToBytes(token, &bytes)) {
    auto it = bytes_to_id_.find(bytes);
    if (it != bytes_to_id_.end()) return it->second;
    return std::nullopt;
  }
  auto it = verbatim_to_id_.find(token);
  if (it != verbatim_to_id_.end()) return it->second;
  return std::nullopt;
}

void BpeModel::Encode(absl::string_view piece, std::vector<TokenId>* out) const {
  if (piece.empty()) return;
  if (piece.size() == 1 && byte_ids_[static_cast<uint8_t>(piece[0])] >= 0) {
    out->push_back(byte_ids_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (ignore_merges_) {
    auto it = bytes_to_id_.find(piece);
    if (it != bytes_to_id_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  if (cache_.Lookup(piece, out)) return;
  const size_t first = out->size();
  MergeBytes(piece, out);
  cache_.Insert(piece, absl::MakeConstSpan(out->data() + first, out->size() - first));
}

void BpeModel::MergeBytes(absl::string_view piece, std::vector<TokenId>* out) const {
  // Scratch reused across calls on this thread: no allocation per word once warm.
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  const int32_t n = static_cast<int32_t>(piece.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols.push_back({byte_ids_[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1,
                       1});
  }
  auto queue = [this](int32_t pos) {
    const Symbol& symbol = symbols[pos];
    if (symbol.next < 0) return;
    const TokenId left = symbol.id;
    const TokenId right = symbols[symbol.next].id;
    if (left < 0 || right < 0) return;
    auto it = merges_.find(PairKey(left, right));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, pos, left, right, it->second.merged});
    std::push_heap(heap.begin(), heap.end(), LaterThan);
  };
  for (int32_t i = 0; i + 1 < n; ++i) queue(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), LaterThan);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& symbol = symbols[top.pos];
    if (symbol.len == 0 || symbol.id != top.left || symbol.next < 0) continue;
    Symbol& right = symbols[symbol.next];
    if (right.id != top.right) continue;
    symbol.id = top.merged;
    symbol.len += right.len;
    right.len = 0;
    symbol.next = right.next;
    if (symbol.next >= 0) symbols[symbol.next].prev = top.pos;
    if (symbol.prev >= 0) queue(symbol.prev);
    queue(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    if (symbols[i].id >= 0) {
      out->push_back(symbols[i].id);
    } else if (unk_id_.has_value()) {  // A byte with no token (never in byte-level vocabs).
      out->push_back(*unk_id_);
    }
  }
}

}  // namespace rein::tokenizer::internal
