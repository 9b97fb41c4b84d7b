// Reads tokenizer_config.json (special token names, chat template, decode clean-up flag) and the
// GPT-2 style vocab.json + merges.txt pair into a TokenizerSpec.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_CONFIG_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_CONFIG_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tokenizer/internal/json_util.h"
#include "common/tokenizer/internal/tokenizer_spec.h"

namespace rein::tokenizer::internal {

// Fills the tokenizer_config.json fields of `spec`. With `take_added_tokens` (vocab.json path,
// which has no added_tokens of its own) the entries of added_tokens_decoder become added tokens.
absl::Status ApplyTokenizerConfig(const JsonFile& file, const Json& config,
                                  bool take_added_tokens, TokenizerSpec* spec);

// A spec for GPT-2 style files: vocab.json ({"token": id}) and merges.txt (one "left right" pair
// per line, an optional "#version" first line), with GPT-2's byte-level pre-tokenizer. Errors
// name the file and the key or line.
absl::StatusOr<TokenizerSpec> LoadVocabAndMerges(absl::string_view vocab_path,
                                                 absl::string_view merges_path);

// For the vocab.json path: tokens tokenizer_config.json names as special (bos, eos, unk, pad,
// additional_special_tokens) that are in the vocabulary but not yet added tokens become special
// added tokens, so that they are matched inside text as transformers does.
void AddNamedSpecialTokens(TokenizerSpec* spec);

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_CONFIG_H_
