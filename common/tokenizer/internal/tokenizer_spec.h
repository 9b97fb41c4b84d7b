// Everything the tokenizer files say, read but not yet compiled into the fast structures of
// BpeTokenizer. The loaders (tokenizer_json.h, tokenizer_config.h, vocab_merges.h) fill it.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_SPEC_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_SPEC_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/tokenizer/tokenizer.h"

namespace rein::tokenizer::internal {

// GPT-2's pre-tokenizer regex (ByteLevel with use_regex, and the vocab.json + merges.txt path).
inline constexpr char kGpt2SplitPattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// One entry of tokenizer.json's added_tokens (HF AddedToken).
struct AddedTokenSpec {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool normalized = false;   // Matched in the normalized text rather than the raw text.
  bool lstrip = false;       // Swallows whitespace on its left.
  bool rstrip = false;       // Swallows whitespace on its right.
  bool single_word = false;  // Only matched when not inside a word.
};

enum class NormalizationForm { kNfc, kNfd, kNfkc, kNfkd };

enum class SplitBehavior {
  kIsolated,  // Matches and the text between them become pre-tokens.
  kRemoved,   // Only the text between matches remains.
};

// One step of the pre-tokenizer sequence.
struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel };
  Kind kind = Kind::kSplit;
  // kSplit: the regex (Oniguruma syntax). kByteLevel: the GPT-2 regex if use_regex, else empty.
  std::string pattern;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool add_prefix_space = false;  // kByteLevel: prepend " " to a piece not starting with one.
};

struct TokenizerSpec {
  std::string source;  // The main file, for messages.

  // BPE model. Tokens in vocabulary form (byte-level characters).
  std::vector<std::pair<std::string, TokenId>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // In rank order.
  bool ignore_merges = false;  // A pre-token found whole in the vocabulary skips merging.
  std::optional<std::string> model_unk_token;

  std::vector<AddedTokenSpec> added_tokens;
  std::vector<NormalizationForm> normalizers;  // Applied in order.
  std::vector<PreTokenizerStep> pre_tokenizer;
  // Post-processor (TemplateProcessing "single"): ids put before and after the sequence.
  std::vector<TokenId> prefix_ids;
  std::vector<TokenId> suffix_ids;

  // tokenizer_config.json.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  std::vector<std::string> additional_special_tokens;
  bool clean_up_tokenization_spaces = false;
  std::string chat_template;  // All named templates joined; used to recognise the format.
};

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_TOKENIZER_SPEC_H_
