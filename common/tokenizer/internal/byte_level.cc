#include "common/tokenizer/internal/byte_level.h"

#include <array>
#include <cstdint>

#include "common/strings/utf8.h"

namespace rein::tokenizer::internal {
namespace {

using strings::AppendUtf8;
using strings::DecodeUtf8;

struct Tables {
  std::array<char32_t, 256> byte_to_char{};
  std::array<int16_t, 324> char_to_byte{};  // Characters are all below U+0144; -1: not mapped.

  Tables() {
    char_to_byte.fill(-1);
    // Printable bytes keep their own character; the other 68 take U+0100, U+0101, ... in order.
    char32_t next_extra = 0x100;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      byte_to_char[b] = printable ? static_cast<char32_t>(b) : next_extra++;
      char_to_byte[byte_to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& GetTables() {
  static const Tables* tables = new Tables();
  return *tables;
}

}  // namespace

void BytesToVocabForm(absl::string_view bytes, std::string* out) {
  const Tables& tables = GetTables();
  for (char c : bytes) AppendUtf8(tables.byte_to_char[static_cast<uint8_t>(c)], out);
}

bool VocabFormToBytes(absl::string_view token, std::string* out) {
  const Tables& tables = GetTables();
  size_t pos = 0;
  while (pos < token.size()) {
    char32_t cp;
    size_t length = DecodeUtf8(token, pos, &cp);
    if (length == 0 || cp >= tables.char_to_byte.size() || tables.char_to_byte[cp] < 0) {
      return false;
    }
    out->push_back(static_cast<char>(tables.char_to_byte[cp]));
    pos += length;
  }
  return true;
}

}  // namespace rein::tokenizer::internal
