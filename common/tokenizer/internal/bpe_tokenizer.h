// The Tokenizer implementation: added-token matching, normalization, pre-tokenization and the
// BPE model, composed as tokenizer.json describes; decoding back to UTF-8.
// Immutable after Create except for the BPE model's internally locked cache; thread safe.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_BPE_TOKENIZER_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_BPE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/tokenizer/internal/added_tokens.h"
#include "common/tokenizer/internal/bpe_model.h"
#include "common/tokenizer/internal/normalizer.h"
#include "common/tokenizer/internal/pre_tokenizer.h"
#include "common/tokenizer/internal/tokenizer_spec.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::tokenizer::internal {

class BpeTokenizer final : public Tokenizer {
 public:
  // `config_source` names tokenizer_config.json in messages (empty if there was none).
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Create(const TokenizerSpec& spec,
                                                           absl::string_view config_source,
                                                           const TokenizerOptions& options);

  absl::StatusOr<std::vector<TokenId>> Encode(absl::string_view text,
                                              const EncodeOptions& options) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const TokenId> ids,
                                     const DecodeOptions& options) const override;
  TokenId vocab_size() const override { return vocab_size_; }
  bool IsValidId(TokenId id) const override;
  std::optional<TokenId> TokenToId(absl::string_view token) const override;
  std::optional<std::string> IdToToken(TokenId id) const override;
  bool IsSpecial(TokenId id) const override;
  const SpecialTokenIds& special_ids() const override { return special_ids_; }
  const ChatFormatParams& chat_format() const override { return chat_format_; }

 private:
  struct AddedInfo {
    std::string content;
    bool special = false;
  };
  BpeTokenizer() = default;
  // Normalizes (if configured) and encodes one stretch of text free of raw-matched added tokens.
  absl::Status EncodeSection(absl::string_view text, PreTokenizerScratch* scratch,
                             std::vector<TokenId>* out) const;
  absl::Status EncodeWords(absl::string_view text, PreTokenizerScratch* scratch,
                           std::vector<TokenId>* out) const;
  const AddedInfo* Added(TokenId id) const;

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<AddedTokenMatcher> raw_matcher_;         // Tokens with normalized = false.
  std::unique_ptr<AddedTokenMatcher> normalized_matcher_;  // Tokens with normalized = true.
  absl::flat_hash_map<TokenId, AddedInfo> added_;
  absl::flat_hash_map<std::string, TokenId> added_by_content_;
  std::vector<TokenId> prefix_ids_;
  std::vector<TokenId> suffix_ids_;
  TokenId vocab_size_ = 0;
  bool clean_up_tokenization_spaces_ = false;
  SpecialTokenIds special_ids_;
  ChatFormatParams chat_format_;
};

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_BPE_TOKENIZER_H_
