// UTF-8 text helpers (the tokenizer's, the config loader's and the request limits'): strict validation, lossy decoding with the replacement
// policy of the WHATWG TextDecoder and Rust's String::from_utf8_lossy (one U+FFFD per maximal
// invalid subpart), and the whitespace classes HF tokenizers and Jinja's `trim` use.
// Stateless functions; thread safe.
#ifndef REIN_COMMON_STRINGS_UTF8_H_
#define REIN_COMMON_STRINGS_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace rein::strings {

// Length (1..4) of the valid UTF-8 sequence at text[pos], storing its code point in *cp;
// 0 if the bytes there are not a valid, shortest-form, non-surrogate sequence.
size_t DecodeUtf8(absl::string_view text, size_t pos, char32_t* cp);

// True if `text` is valid UTF-8. Otherwise false and, if `error_offset` is given, the offset of
// the first byte of the first invalid sequence.
bool IsValidUtf8(absl::string_view text, size_t* error_offset = nullptr);

void AppendUtf8(char32_t cp, std::string* out);

// Appends `bytes` to `out`, replacing each maximal invalid subpart with U+FFFD.
void AppendUtf8Lossy(absl::string_view bytes, std::string* out);

// Unicode's White_Space property (what Rust's char::is_whitespace tests).
bool IsUnicodeWhitespace(char32_t cp);

// Python's str.isspace(), which Jinja's `trim` filter (str.strip) uses: White_Space plus the
// information separators U+001C..U+001F.
bool IsPythonWhitespace(char32_t cp);

// `text` without leading and/or trailing code points for which `is_space` holds.
absl::string_view TrimLeft(absl::string_view text, bool (*is_space)(char32_t));
absl::string_view TrimRight(absl::string_view text, bool (*is_space)(char32_t));

}  // namespace rein::strings

#endif  // REIN_COMMON_STRINGS_UTF8_H_
