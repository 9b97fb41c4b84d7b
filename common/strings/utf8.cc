#include "common/strings/utf8.h"

#include <cstdint>

namespace rein::strings {
namespace {

// Decodes the sequence at `pos`. Returns its length when valid. When invalid, returns 0 and sets
// *consumed to the length of the maximal subpart to replace (at least 1).
size_t DecodeOne(absl::string_view text, size_t pos, char32_t* cp, size_t* consumed) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(pos);
  *consumed = 1;
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  }
  size_t length;
  uint8_t low = 0x80, high = 0xBF;  // Allowed range of the second byte.
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    *cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    *cp = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;   // No overlong forms.
    if (lead == 0xED) high = 0x9F;  // No surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    *cp = lead & 0x07;
    if (lead == 0xF0) low = 0x90;   // No overlong forms.
    if (lead == 0xF4) high = 0x8F;  // Nothing above U+10FFFF.
  } else {
    return 0;
  }
  for (size_t i = 1; i < length; ++i) {
    if (pos + i >= text.size()) return 0;
    const uint8_t next = byte(pos + i);
    if (next < low || next > high) return 0;
    low = 0x80;
    high = 0xBF;
    *cp = (*cp << 6) | (next & 0x3F);
    *consumed = i + 1;
  }
  return length;
}

}  // namespace

size_t DecodeUtf8(absl::string_view text, size_t pos, char32_t* cp) {
  size_t consumed;
  return DecodeOne(text, pos, cp, &consumed);
}

bool IsValidUtf8(absl::string_view text, size_t* error_offset) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t cp;
    size_t length = DecodeUtf8(text, pos, &cp);
    if (length == 0) {
      if (error_offset != nullptr) *error_offset = pos;
      return false;
    }
    pos += length;
  }
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void AppendUtf8Lossy(absl::string_view bytes, std::string* out) {
  size_t pos = 0;
  size_t run_start = 0;  // Start of the valid run not yet copied.
  while (pos < bytes.size()) {
    if (static_cast<uint8_t>(bytes[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t cp;
    size_t consumed;
    size_t length = DecodeOne(bytes, pos, &cp, &consumed);
    if (length != 0) {
      pos += length;
      continue;
    }
    out->append(bytes.data() + run_start, pos - run_start);
    out->append("\xEF\xBF\xBD");  // U+FFFD
    pos += consumed;
    run_start = pos;
  }
  out->append(bytes.data() + run_start, pos - run_start);
}

bool IsUnicodeWhitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool IsPythonWhitespace(char32_t cp) {
  return IsUnicodeWhitespace(cp) || (cp >= 0x1C && cp <= 0x1F);
}

absl::string_view TrimLeft(absl::string_view text, bool (*is_space)(char32_t)) {
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    size_t length = DecodeUtf8(text, pos, &cp);
    if (length == 0 || !is_space(cp)) break;
    pos += length;
  }
  return text.substr(pos);
}

absl::string_view TrimRight(absl::string_view text, bool (*is_space)(char32_t)) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = end - 1;  // Walk back to the lead byte of the last code point.
    while (start > 0 && end - start < 4 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) {
      --start;
    }
    char32_t cp;
    if (DecodeUtf8(text, start, &cp) != end - start || !is_space(cp)) break;
    end = start;
  }
  return text.substr(0, end);
}

}  // namespace rein::strings
