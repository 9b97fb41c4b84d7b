#include "common/rpc/request_limits.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/strings/utf8.h"

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

// Length of the printable UTF-8 character at value[i] (a lead byte >= 0x80); 0 for an invalid,
// overlong or surrogate sequence and for the C1 controls U+0080..U+009F.
size_t PrintableUtf8Length(absl::string_view value, size_t i) {
  char32_t code = 0;
  const size_t length = strings::DecodeUtf8(value, i, &code);
  return code >= 0x80 && code <= 0x9F ? 0 : length;
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
          const size_t length = PrintableUtf8Length(value, i);
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
