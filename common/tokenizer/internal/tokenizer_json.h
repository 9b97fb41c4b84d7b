// Reads a Hugging Face tokenizer.json (byte-level BPE) into a TokenizerSpec.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_JSON_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_JSON_H_

#include "absl/status/statusor.h"
#include "common/tokenizer/internal/json_util.h"
#include "common/tokenizer/internal/tokenizer_spec.h"

namespace rein::tokenizer::internal {

// INVALID_ARGUMENT for malformed content and UNIMPLEMENTED for components Rein does not support
// (anything but byte-level BPE), both naming the file and key.
absl::StatusOr<TokenizerSpec> ParseTokenizerJson(const JsonFile& file, const Json& root);

// Reads an added token's "content" and flags (special, normalized, lstrip, rstrip,
// single_word) from `entry`, whose path is `key`; shared by tokenizer.json's "added_tokens" and
// tokenizer_config.json's "added_tokens_decoder".
absl::Status ReadAddedTokenContent(const JsonFile& file, const Json& entry, absl::string_view key,
                                   AddedTokenSpec* token);

// Escapes `literal` so that Oniguruma matches it as plain text.
std::string EscapeRegex(absl::string_view literal);

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_JSON_H_
