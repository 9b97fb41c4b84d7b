// Finds added tokens (special or not) inside text, as HF tokenizers do before normalizing and
// pre-tokenizing: scanning left to right, the longest token starting at the earliest position
// wins. Honours AddedToken's single_word (not matched inside a word), lstrip / rstrip
// (whitespace on that side is swallowed). Immutable after Create; thread safe.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_ADDED_TOKENS_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_ADDED_TOKENS_H_

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/tokenizer/internal/tokenizer_spec.h"

namespace rein::tokenizer::internal {

// A stretch of text: either an added token (id >= 0) or ordinary text (id == -1).
struct Segment {
  absl::string_view text;
  TokenId id = -1;
};

class AddedTokenMatcher {
 public:
  // `tokens` are matched by their content; an empty list matches nothing.
  explicit AddedTokenMatcher(const std::vector<AddedTokenSpec>& tokens);

  bool empty() const { return tokens_.empty(); }

  // Appends the segments of `text` to `out`, in order. Ordinary segments are never empty.
  void Split(absl::string_view text, std::vector<Segment>* out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // (byte, node index), unsorted.
    int32_t token = -1;                                 // Index into tokens_ if a token ends.
  };
  int32_t Child(int32_t node, uint8_t byte) const;
  // The longest acceptable token starting at `pos`: its index and length, or {-1, 0}.
  std::pair<int32_t, size_t> LongestAt(absl::string_view text, size_t pos) const;

  std::vector<AddedTokenSpec> tokens_;
  std::vector<Node> nodes_;  // nodes_[0] is the root.
  std::array<int32_t, 256> root_children_;
};

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_ADDED_TOKENS_H_
