// Hugging Face–compatible byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2/3).
//
//   ASSIGN_OR_RETURN(auto tokenizer, Tokenizer::FromDirectory("/models/qwen3"));
//   ASSIGN_OR_RETURN(std::vector<TokenId> ids, tokenizer->Encode("Hello world"));
//   ASSIGN_OR_RETURN(std::string text, tokenizer->Decode(ids));
//
// A directory holds tokenizer.json (and usually tokenizer_config.json), or the GPT-2 style pair
// vocab.json + merges.txt (tokenizer_config.json optional). Encoding follows HF tokenizers:
// added tokens are matched in the raw text first (leftmost, longest), the rest is normalized (if
// the file configures a normalizer), split by the pre-tokenizer's regex (Oniguruma, the engine
// HF uses), mapped to byte-level characters and merged by rank.
//
// Thread safety: a Tokenizer is immutable after creation except for an internal, internally
// locked cache; all methods may be called concurrently.
#ifndef REIN_COMMON_TOKENIZER_TOKENIZER_H_
#define REIN_COMMON_TOKENIZER_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/tokenizer/chat_template.h"

namespace rein::tokenizer {

using TokenId = int32_t;

struct TokenizerOptions {
  // Pre-tokens (words) whose merge results are cached; 0 disables the cache. Only pre-tokens of
  // at most 256 bytes are cached. Default: 65536 (a few MB).
  size_t cache_capacity = 65536;
};

struct EncodeOptions {
  // Add what the post-processor adds around a sequence (e.g. a BOS id from a
  // TemplateProcessing post-processor). The files of Qwen3 and of the Llama 3 npm package add
  // nothing. Default: false.
  bool add_special_tokens = false;
};

struct DecodeOptions {
  // Leave out tokens marked `special`. Default: false.
  bool skip_special_tokens = false;
  // Apply transformers' clean_up_tokenization (" ." -> ".", " 's" -> "'s", ...). Default
  // (nullopt): tokenizer_config.json's clean_up_tokenization_spaces, false when absent.
  std::optional<bool> clean_up_tokenization_spaces;
};

// Ids of the special tokens tokenizer_config.json names; nullopt where it names none.
struct SpecialTokenIds {
  std::optional<TokenId> bos;
  std::optional<TokenId> eos;
  std::optional<TokenId> pad;
  std::optional<TokenId> unk;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Loads a tokenizer.json; a tokenizer_config.json beside it is read if present. Errors name
  // the file and the key: NOT_FOUND for a missing file, INVALID_ARGUMENT for malformed content,
  // UNIMPLEMENTED for a component (normalizer, pre-tokenizer, model...) Rein does not support.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(
      absl::string_view tokenizer_json_path, const TokenizerOptions& options = {});

  // Loads `dir`/tokenizer.json if present, otherwise `dir`/vocab.json + `dir`/merges.txt (GPT-2
  // pre-tokenizer). `dir`/tokenizer_config.json is read when present.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromDirectory(
      absl::string_view dir, const TokenizerOptions& options = {});

  // Token ids of `text`. INVALID_ARGUMENT if `text` is not valid UTF-8.
  virtual absl::StatusOr<std::vector<TokenId>> Encode(absl::string_view text,
                                                      const EncodeOptions& options = {}) const = 0;

  // Text of `ids`; byte sequences that are not valid UTF-8 become U+FFFD. OUT_OF_RANGE naming
  // the position if an id is not a token of this tokenizer.
  virtual absl::StatusOr<std::string> Decode(absl::Span<const TokenId> ids,
                                             const DecodeOptions& options = {}) const = 0;

  // One more than the largest id (the model's embedding may be larger).
  virtual TokenId vocab_size() const = 0;
  // Whether `id` names a token (ids inside [0, vocab_size) may be unused).
  virtual bool IsValidId(TokenId id) const = 0;

  // Lookups in the vocabulary's own spelling (byte-level characters, e.g. "Ġhello"), added
  // tokens by their content.
  virtual std::optional<TokenId> TokenToId(absl::string_view token) const = 0;
  virtual std::optional<std::string> IdToToken(TokenId id) const = 0;
  // True for added tokens marked `special`.
  virtual bool IsSpecial(TokenId id) const = 0;

  virtual const SpecialTokenIds& special_ids() const = 0;

  // The chat format found in the tokenizer's files (chat_template, added tokens).
  virtual const ChatFormatParams& chat_format() const = 0;

  // FormatChat with this tokenizer's chat format.
  absl::StatusOr<std::string> ApplyChatTemplate(absl::Span<const ChatMessage> messages,
                                                const ChatOptions& options = {}) const;
  // ApplyChatTemplate, then Encode without extra special tokens (the text carries them).
  absl::StatusOr<std::vector<TokenId>> EncodeChat(absl::Span<const ChatMessage> messages,
                                                  const ChatOptions& options = {}) const;

 protected:
  Tokenizer() = default;
};

}  // namespace rein::tokenizer

#endif  // REIN_COMMON_TOKENIZER_TOKENIZER_H_
