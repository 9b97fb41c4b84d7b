#include "common/rpc/request_limits.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace rein::rpc {
namespace {

bool IsIdChar(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' || c == '@' || c == '+' ||
         c == '=' || c == '/' || c == '-';
}

bool IsAddressChar(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' || c == '@' || c == '%' ||
         c == '/' || c == '[' || c == ']' || c == '-';
}

bool IsKeyChar(unsigned char c) { return c >= 0x21 && c <= 0x7e; }

const char* KindName(StringKind kind) {
  switch (kind) {
    case StringKind::kId:
      return "letters, digits and . _ : @ + = / -";
    case StringKind::kName:
      return "UTF-8 without control characters";
    case StringKind::kAddress:
      return "letters, digits and . _ : @ % / [ ] -";
    case StringKind::kPath:
      return "UTF-8 without control characters";
    case StringKind::kKey:
      return "printable ASCII without spaces";
  }
  return "";
}

// Length of the UTF-8 sequence starting at value[i] if it is well formed (shortest form, no
// surrogates, at most U+10FFFF) and not a C1 control character; 0 otherwise.
size_t Utf8SequenceLength(absl::string_view value, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(value[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  uint32_t code = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > value.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  const bool c1_control = code >= 0x80 && code <= 0x9F;
  if (overlong || surrogate || code > 0x10FFFF || c1_control) return 0;
  return length;
}

// Offset of the first character `kind` does not allow; npos if there is none.
size_t FirstBadChar(absl::string_view value, StringKind kind) {
  for (size_t i = 0; i < value.size();) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    switch (kind) {
      case StringKind::kId:
        if (!IsIdChar(c)) return i;
        ++i;
        break;
      case StringKind::kAddress:
        if (!IsAddressChar(c)) return i;
        ++i;
        break;
      case StringKind::kKey:
        if (!IsKeyChar(c)) return i;
        ++i;
        break;
      case StringKind::kName:
      case StringKind::kPath:
        if (c < 0x80) {
          if (c < 0x20 || c == 0x7f) return i;
          ++i;
        } else {
          const size_t length = Utf8SequenceLength(value, i);
          if (length == 0) return i;
          i += length;
        }
        break;
    }
  }
  return absl::string_view::npos;
}

}  // namespace

std::string QuotePrefix(absl::string_view value) {
  if (value.size() <= kQuotedPrefixBytes) return absl::StrCat("'", absl::CHexEscape(value), "'");
  return absl::StrCat("'", absl::CHexEscape(value.substr(0, kQuotedPrefixBytes)), "...' (",
                      value.size(), " bytes)");
}

absl::Status CheckString(absl::string_view field, absl::string_view value, StringKind kind,
                         size_t max_bytes, bool allow_empty) {
  if (value.empty()) {
    if (allow_empty) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(field, ": empty"));
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", value.size(),
                                                   " bytes, above the limit of ", max_bytes,
                                                   " bytes: ", QuotePrefix(value)));
  }
  const size_t bad = FirstBadChar(value, kind);
  if (bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": byte ", bad, " (", absl::CHexEscape(value.substr(bad, 1)),
                     ") is not allowed; use ", KindName(kind), ": ", QuotePrefix(value)));
  }
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view field, absl::string_view value, bool allow_empty) {
  return CheckString(field, value, StringKind::kId, kMaxIdBytes, allow_empty);
}

absl::Status CheckName(absl::string_view field, absl::string_view value, bool allow_empty) {
  return CheckString(field, value, StringKind::kName, kMaxNameBytes, allow_empty);
}

absl::Status CheckAddress(absl::string_view field, absl::string_view value) {
  return CheckString(field, value, StringKind::kAddress, kMaxAddressBytes);
}

absl::Status CheckPath(absl::string_view field, absl::string_view value, bool allow_empty) {
  return CheckString(field, value, StringKind::kPath, kMaxPathBytes, allow_empty);
}

absl::Status CheckKey(absl::string_view field, absl::string_view value) {
  return CheckString(field, value, StringKind::kKey, kMaxKeyBytes);
}

absl::Status CheckCount(absl::string_view field, int64_t count, int64_t max) {
  if (count <= max) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat(field, ": ", count, " in one call, above the limit of ", max));
}

}  // namespace rein::rpc
