#include "common/tokenizer/internal/added_tokens.h"

#include <unicode/uchar.h>

#include "common/strings/utf8.h"

namespace rein::tokenizer::internal {
namespace {

using strings::DecodeUtf8;
using strings::IsUnicodeWhitespace;
using strings::TrimLeft;
using strings::TrimRight;

bool IsWordChar(char32_t cp) { return cp == '_' || u_isalnum(static_cast<UChar32>(cp)); }

// Whether the code point ending at `end` (exclusive) is a word character.
bool WordCharBefore(absl::string_view text, size_t end) {
  if (end == 0) return false;
  size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) {
    --start;
  }
  char32_t cp;
  return DecodeUtf8(text, start, &cp) == end - start && IsWordChar(cp);
}

bool WordCharAt(absl::string_view text, size_t pos) {
  char32_t cp;
  return pos < text.size() && DecodeUtf8(text, pos, &cp) > 0 && IsWordChar(cp);
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedTokenSpec>& tokens)
    : tokens_(tokens), nodes_(1) {
  root_children_.fill(-1);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    int32_t node = 0;
    for (char c : tokens_[i].content) {
      const uint8_t byte = static_cast<uint8_t>(c);
      int32_t child = Child(node, byte);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        if (node == 0) {
          root_children_[byte] = child;
        } else {
          nodes_[node].children.emplace_back(byte, child);
        }
      }
      node = child;
    }
    nodes_[node].token = static_cast<int32_t>(i);  // A later duplicate wins, as in a map.
  }
}

int32_t AddedTokenMatcher::Child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_children_[byte];
  for (const auto& [key, child] : nodes_[node].children) {
    if (key == byte) return child;
  }
  return -1;
}

std::pair<int32_t, size_t> AddedTokenMatcher::LongestAt(absl::string_view text,
                                                        size_t pos) const {
  std::pair<int32_t, size_t> best{-1, 0};
  int32_t node = 0;
  for (size_t end = pos; end < text.size();) {
    node = Child(node, static_cast<uint8_t>(text[end]));
    if (node < 0) break;
    ++end;
    const int32_t token = nodes_[node].token;
    if (token < 0) continue;
    if (tokens_[token].single_word &&
        (WordCharBefore(text, pos) || WordCharAt(text, end))) {
      continue;
    }
    best = {token, end - pos};
  }
  return best;
}

void AddedTokenMatcher::Split(absl::string_view text, std::vector<Segment>* out) const {
  size_t plain_start = 0;  // Start of the ordinary text not yet emitted.
  size_t pos = 0;
  while (pos < text.size()) {
    if (root_children_[static_cast<uint8_t>(text[pos])] < 0) {
      ++pos;
      continue;
    }
    auto [token, length] = LongestAt(text, pos);
    if (token < 0) {
      ++pos;
      continue;
    }
    const AddedTokenSpec& spec = tokens_[token];
    absl::string_view plain = text.substr(plain_start, pos - plain_start);
    if (spec.lstrip) plain = TrimRight(plain, IsUnicodeWhitespace);
    if (!plain.empty()) out->push_back({plain, -1});
    out->push_back({text.substr(pos, length), spec.id});
    pos += length;
    if (spec.rstrip) {
      pos = text.size() - TrimLeft(text.substr(pos), IsUnicodeWhitespace).size();
    }
    plain_start = pos;
  }
  if (plain_start < text.size()) out->push_back({text.substr(plain_start), -1});
}

}  // namespace rein::tokenizer::internal
