// GPT-2's reversible map between the 256 byte values and 256 printable Unicode characters,
// which byte-level BPE vocabularies (GPT-2, Llama 3, Qwen2/3) are written in: printable Latin-1
// bytes map to themselves and the rest to U+0100 onwards (a space is "Ġ", a newline "Ċ").
// Stateless functions over constant tables; thread safe.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_BYTE_LEVEL_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_BYTE_LEVEL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace rein::tokenizer::internal {

// Appends the vocabulary form of raw `bytes` (one character per byte) to `out`.
void BytesToVocabForm(absl::string_view bytes, std::string* out);

// Appends the raw bytes that the vocabulary-form `token` stands for to `out`. Returns false
// (leaving `out` with a partial result) if `token` holds a character outside the alphabet.
bool VocabFormToBytes(absl::string_view token, std::string* out);

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_BYTE_LEVEL_H_
