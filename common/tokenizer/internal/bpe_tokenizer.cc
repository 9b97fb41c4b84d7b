#include "common/tokenizer/internal/bpe_tokenizer.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status/status_macros.h"
#include "common/strings/utf8.h"

namespace rein::tokenizer::internal {
namespace {

using strings::AppendUtf8Lossy;
using strings::IsValidUtf8;

// transformers' clean_up_tokenization, replacement by replacement in its order.
void CleanUpTokenizationSpaces(std::string* text) {
  static constexpr std::pair<const char*, const char*> kReplacements[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kReplacements) {
    if (absl::StrContains(*text, from)) *text = absl::StrReplaceAll(*text, {{from, to}});
  }
}

ChatFormatParams DetectChatFormat(const TokenizerSpec& spec,
                                  const absl::flat_hash_map<std::string, TokenId>& added) {
  ChatFormatParams params;
  const std::string& chat = spec.chat_template;
  const auto mentions = [&](absl::string_view token) {
    return chat.empty() ? added.contains(token) : absl::StrContains(chat, token);
  };
  if (mentions("<|im_start|>")) {
    params.format = ChatFormat::kChatMl;
    params.qwen3_thinking = absl::StrContains(chat, "<think>");
  } else if (mentions("<|start_header_id|>")) {
    params.format = ChatFormat::kLlama3;
    params.bos_token = spec.bos_token.value_or(
        added.contains("<|begin_of_text|>") ? "<|begin_of_text|>" : "");
  }
  return params;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> BpeTokenizer::Create(
    const TokenizerSpec& spec, absl::string_view config_source,
    const TokenizerOptions& options) {
  std::unique_ptr<BpeTokenizer> tokenizer(new BpeTokenizer());
  ASSIGN_OR_RETURN(tokenizer->model_, BpeModel::Create(spec, options.cache_capacity));
  ASSIGN_OR_RETURN(tokenizer->normalizer_, Normalizer::Create(spec.normalizers));
  ASSIGN_OR_RETURN(tokenizer->pre_tokenizer_,
                   PreTokenizer::Create(spec.pre_tokenizer, spec.source));

  const absl::flat_hash_set<std::string> named_special(spec.additional_special_tokens.begin(),
                                                       spec.additional_special_tokens.end());
  std::vector<AddedTokenSpec> raw, normalized;
  TokenId max_id = tokenizer->model_->size() - 1;
  for (const AddedTokenSpec& token : spec.added_tokens) {
    const bool special = token.special || named_special.contains(token.content);
    tokenizer->added_.insert_or_assign(token.id, AddedInfo{token.content, special});
    tokenizer->added_by_content_.insert_or_assign(token.content, token.id);
    max_id = std::max(max_id, token.id);
    (token.normalized && !tokenizer->normalizer_->is_identity() ? normalized : raw)
        .push_back(token);
  }
  tokenizer->raw_matcher_ = std::make_unique<AddedTokenMatcher>(raw);
  tokenizer->normalized_matcher_ = std::make_unique<AddedTokenMatcher>(normalized);
  tokenizer->vocab_size_ = max_id + 1;

  for (auto [ids, where] : {std::pair(&spec.prefix_ids, &tokenizer->prefix_ids_),
                            std::pair(&spec.suffix_ids, &tokenizer->suffix_ids_)}) {
    for (TokenId id : *ids) {
      if (!tokenizer->IsValidId(id)) {
        return absl::InvalidArgumentError(absl::StrCat(
            spec.source, ": key 'post_processor': special token id ", id, " is not a token"));
      }
      where->push_back(id);
    }
  }

  const std::pair<const std::optional<std::string>*, std::optional<TokenId>*> named[] = {
      {&spec.bos_token, &tokenizer->special_ids_.bos},
      {&spec.eos_token, &tokenizer->special_ids_.eos},
      {&spec.pad_token, &tokenizer->special_ids_.pad},
      {&spec.unk_token, &tokenizer->special_ids_.unk}};
  const char* const keys[] = {"bos_token", "eos_token", "pad_token", "unk_token"};
  for (size_t i = 0; i < std::size(named); ++i) {
    if (!named[i].first->has_value()) continue;
    *named[i].second = tokenizer->TokenToId(**named[i].first);
    if (!named[i].second->has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(config_source, ": key '", keys[i], "' ('",
                                                     **named[i].first, "') is not a token of ",
                                                     spec.source));
    }
  }
  tokenizer->clean_up_tokenization_spaces_ = spec.clean_up_tokenization_spaces;
  tokenizer->chat_format_ = DetectChatFormat(spec, tokenizer->added_by_content_);
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

absl::StatusOr<std::vector<TokenId>> BpeTokenizer::Encode(absl::string_view text,
                                                          const EncodeOptions& options) const {
  size_t bad_offset = 0;
  if (!IsValidUtf8(text, &bad_offset)) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is not valid UTF-8 (at byte ", bad_offset, ")"));
  }
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 8);
  if (options.add_special_tokens) ids = prefix_ids_;
  PreTokenizerScratch scratch;
  if (raw_matcher_->empty()) {
    RETURN_IF_ERROR(EncodeSection(text, &scratch, &ids));
  } else {
    std::vector<Segment> segments;
    raw_matcher_->Split(text, &segments);
    for (const Segment& segment : segments) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
      } else {
        RETURN_IF_ERROR(EncodeSection(segment.text, &scratch, &ids));
      }
    }
  }
  if (options.add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

absl::Status BpeTokenizer::EncodeSection(absl::string_view text, PreTokenizerScratch* scratch,
                                         std::vector<TokenId>* out) const {
  if (normalizer_->is_identity()) return EncodeWords(text, scratch, out);
  std::string normalized;
  normalizer_->Normalize(text, &normalized);
  if (normalized_matcher_->empty()) return EncodeWords(normalized, scratch, out);
  std::vector<Segment> segments;
  normalized_matcher_->Split(normalized, &segments);
  for (const Segment& segment : segments) {
    if (segment.id >= 0) {
      out->push_back(segment.id);
    } else {
      RETURN_IF_ERROR(EncodeWords(segment.text, scratch, out));
    }
  }
  return absl::OkStatus();
}

absl::Status BpeTokenizer::EncodeWords(absl::string_view text, PreTokenizerScratch* scratch,
                                       std::vector<TokenId>* out) const {
  std::vector<absl::string_view> pieces;
  RETURN_IF_ERROR(pre_tokenizer_->Split(text, scratch, &pieces));
  for (absl::string_view piece : pieces) model_->Encode(piece, out);
  return absl::OkStatus();
}

absl::StatusOr<std::string> BpeTokenizer::Decode(absl::Span<const TokenId> ids,
                                                 const DecodeOptions& options) const {
  std::string text;
  std::string pending;  // Bytes of consecutive vocabulary tokens, converted together.
  for (size_t i = 0; i < ids.size(); ++i) {
    const TokenId id = ids[i];
    if (!IsValidId(id)) {
      return absl::OutOfRangeError(absl::StrCat("id ", id, " at position ", i,
                                                " is not a token (vocabulary size ",
                                                vocab_size_, ")"));
    }
    if (const AddedInfo* added = Added(id); added != nullptr) {
      if (options.skip_special_tokens && added->special) continue;
      AppendUtf8Lossy(pending, &text);
      pending.clear();
      text.append(added->content);
    } else {
      pending.append(model_->Bytes(id));
    }
  }
  AppendUtf8Lossy(pending, &text);
  if (options.clean_up_tokenization_spaces.value_or(clean_up_tokenization_spaces_)) {
    CleanUpTokenizationSpaces(&text);
  }
  return text;
}

const BpeTokenizer::AddedInfo* BpeTokenizer::Added(TokenId id) const {
  if (added_.empty()) return nullptr;
  auto it = added_.find(id);
  return it != added_.end() ? &it->second : nullptr;
}

bool BpeTokenizer::IsValidId(TokenId id) const {
  return model_->Has(id) || Added(id) != nullptr;
}

std::optional<TokenId> BpeTokenizer::TokenToId(absl::string_view token) const {
  auto it = added_by_content_.find(token);
  if (it != added_by_content_.end()) return it->second;
  return model_->Find(token);
}

std::optional<std::string> BpeTokenizer::IdToToken(TokenId id) const {
  if (const AddedInfo* added = Added(id); added != nullptr) return added->content;
  if (model_->Has(id)) return model_->VocabForm(id);
  return std::nullopt;
}

bool BpeTokenizer::IsSpecial(TokenId id) const {
  const AddedInfo* added = Added(id);
  return added != nullptr && added->special;
}

}  // namespace rein::tokenizer::internal
