#include "common/tokenizer/internal/tokenizer_config.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "common/tokenizer/internal/tokenizer_json.h"

namespace rein::tokenizer::internal {
namespace {

// A special token entry: null, "text", or an AddedToken object {"content": "text", ...}.
absl::StatusOr<std::optional<std::string>> TokenName(const JsonFile& file, const Json& config,
                                                     absl::string_view name) {
  const Json* value = JsonFile::Find(config, name);
  if (value == nullptr) return std::optional<std::string>();
  if (value->is_string()) return std::optional<std::string>(value->get<std::string>());
  if (value->is_object()) {
    const std::string key = absl::StrCat(name, ".content");
    ASSIGN_OR_RETURN(const Json* content, file.Require(*value, "content", key));
    ASSIGN_OR_RETURN(std::string text, file.String(*content, key));
    return std::optional<std::string>(std::move(text));
  }
  return file.Error(name, "must be a string, an object with \"content\", or null");
}

absl::Status ReadChatTemplate(const JsonFile& file, const Json& config, TokenizerSpec* spec) {
  const Json* chat = JsonFile::Find(config, "chat_template");
  if (chat == nullptr) return absl::OkStatus();
  if (chat->is_string()) {
    spec->chat_template = chat->get<std::string>();
    return absl::OkStatus();
  }
  if (!chat->is_array()) return file.Error("chat_template", "must be a string or an array");
  for (size_t i = 0; i < chat->size(); ++i) {  // [{"name": ..., "template": ...}]
    const std::string key = absl::StrCat("chat_template[", i, "].template");
    ASSIGN_OR_RETURN(const Json* text, file.Require((*chat)[i], "template", key));
    ASSIGN_OR_RETURN(std::string value, file.String(*text, key));
    absl::StrAppend(&spec->chat_template, value, "\n");
  }
  return absl::OkStatus();
}

absl::Status ReadAddedTokensDecoder(const JsonFile& file, const Json& config,
                                    TokenizerSpec* spec) {
  const Json* decoder = JsonFile::Find(config, "added_tokens_decoder");
  if (decoder == nullptr) return absl::OkStatus();
  if (!decoder->is_object()) return file.Error("added_tokens_decoder", "must be an object");
  for (const auto& [id_text, entry] : decoder->items()) {
    const std::string key = absl::StrCat("added_tokens_decoder.", id_text);
    AddedTokenSpec token;
    if (!absl::SimpleAtoi(id_text, &token.id) || token.id < 0) {
      return file.Error(key, "must be keyed by a token id");
    }
    RETURN_IF_ERROR(ReadAddedTokenContent(file, entry, key, &token));
    spec->added_tokens.push_back(std::move(token));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyTokenizerConfig(const JsonFile& file, const Json& config,
                                  bool take_added_tokens, TokenizerSpec* spec) {
  if (!config.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": must hold a JSON object"));
  }
  ASSIGN_OR_RETURN(spec->bos_token, TokenName(file, config, "bos_token"));
  ASSIGN_OR_RETURN(spec->eos_token, TokenName(file, config, "eos_token"));
  ASSIGN_OR_RETURN(spec->pad_token, TokenName(file, config, "pad_token"));
  ASSIGN_OR_RETURN(spec->unk_token, TokenName(file, config, "unk_token"));
  if (const Json* extra = JsonFile::Find(config, "additional_special_tokens"); extra != nullptr) {
    if (!extra->is_array()) return file.Error("additional_special_tokens", "must be an array");
    for (size_t i = 0; i < extra->size(); ++i) {
      const Json& item = (*extra)[i];
      const Json* content = item.is_object() ? JsonFile::Find(item, "content") : &item;
      if (content == nullptr || !content->is_string()) {
        return file.Error(absl::StrCat("additional_special_tokens[", i, "]"),
                          "must be a string or an object with \"content\"");
      }
      spec->additional_special_tokens.push_back(content->get<std::string>());
    }
  }
  ASSIGN_OR_RETURN(spec->clean_up_tokenization_spaces,
                   file.OptionalBool(config, "clean_up_tokenization_spaces", false,
                                     "clean_up_tokenization_spaces"));
  RETURN_IF_ERROR(ReadChatTemplate(file, config, spec));
  if (take_added_tokens) RETURN_IF_ERROR(ReadAddedTokensDecoder(file, config, spec));
  return absl::OkStatus();
}

absl::StatusOr<TokenizerSpec> LoadVocabAndMerges(absl::string_view vocab_path,
                                                 absl::string_view merges_path) {
  TokenizerSpec spec;
  spec.source = std::string(vocab_path);
  const JsonFile vocab_file{std::string(vocab_path)};
  ASSIGN_OR_RETURN(Json vocab, ReadJsonFile(vocab_path));
  if (!vocab.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(vocab_path, ": must hold a JSON object of token: id"));
  }
  spec.vocab.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    ASSIGN_OR_RETURN(TokenId value, vocab_file.TokenIdValue(id, token));
    spec.vocab.emplace_back(token, value);
  }
  ASSIGN_OR_RETURN(std::string merges_text, ReadFileToString(merges_path));
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(merges_text, '\n')) {
    ++line_number;
    absl::ConsumeSuffix(&line, "\r");
    if (line.empty() || (line_number == 1 && absl::StartsWith(line, "#version"))) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          merges_path, ": line ", line_number, ": expected two tokens separated by one space"));
    }
    spec.merges.emplace_back(std::string(parts[0]), std::string(parts[1]));
  }
  PreTokenizerStep byte_level;
  byte_level.kind = PreTokenizerStep::Kind::kByteLevel;
  byte_level.pattern = kGpt2SplitPattern;
  spec.pre_tokenizer.push_back(byte_level);
  return spec;
}

void AddNamedSpecialTokens(TokenizerSpec* spec) {
  absl::flat_hash_set<std::string> added;
  for (const AddedTokenSpec& token : spec->added_tokens) added.insert(token.content);
  std::vector<std::string> names = spec->additional_special_tokens;
  for (const auto* name : {&spec->bos_token, &spec->eos_token, &spec->unk_token,
                           &spec->pad_token}) {
    if (name->has_value()) names.push_back(**name);
  }
  for (const std::string& name : names) {
    if (added.contains(name)) continue;
    for (const auto& [token, id] : spec->vocab) {
      if (token != name) continue;
      AddedTokenSpec special;
      special.id = id;
      special.content = name;
      special.special = true;
      spec->added_tokens.push_back(std::move(special));
      added.insert(name);
      break;
    }
  }
}

}  // namespace rein::tokenizer::internal
