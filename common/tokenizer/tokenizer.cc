#include "common/tokenizer/tokenizer.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tokenizer/internal/bpe_tokenizer.h"
#include "common/tokenizer/internal/json_util.h"
#include "common/tokenizer/internal/tokenizer_config.h"
#include "common/tokenizer/internal/tokenizer_json.h"

namespace rein::tokenizer {
namespace {

using internal::Json;
using internal::JsonFile;
using internal::TokenizerSpec;

bool IsFile(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

// Reads `config_path` into `spec` if the file exists; returns its path, or "" if absent.
absl::StatusOr<std::string> ApplyConfigIfPresent(const std::filesystem::path& config_path,
                                                 bool take_added_tokens, TokenizerSpec* spec) {
  if (!IsFile(config_path)) return std::string();
  ASSIGN_OR_RETURN(Json config, internal::ReadJsonFile(config_path.string()));
  RETURN_IF_ERROR(internal::ApplyTokenizerConfig(JsonFile(config_path.string()), config,
                                                 take_added_tokens, spec));
  return config_path.string();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(
    absl::string_view tokenizer_json_path, const TokenizerOptions& options) {
  const std::filesystem::path path{std::string(tokenizer_json_path)};
  ASSIGN_OR_RETURN(Json root, internal::ReadJsonFile(path.string()));
  ASSIGN_OR_RETURN(TokenizerSpec spec,
                   internal::ParseTokenizerJson(JsonFile(path.string()), root));
  root = Json();  // The parsed document is large; free it before building the tables.
  ASSIGN_OR_RETURN(std::string config_source,
                   ApplyConfigIfPresent(path.parent_path() / "tokenizer_config.json",
                                        /*take_added_tokens=*/false, &spec));
  return internal::BpeTokenizer::Create(spec, config_source, options);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromDirectory(
    absl::string_view dir, const TokenizerOptions& options) {
  const std::filesystem::path root{std::string(dir)};
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    return absl::NotFoundError(absl::StrCat(dir, ": no such directory"));
  }
  if (IsFile(root / "tokenizer.json")) return FromFile((root / "tokenizer.json").string(), options);
  if (!IsFile(root / "vocab.json") || !IsFile(root / "merges.txt")) {
    return absl::NotFoundError(
        absl::StrCat(dir, ": holds neither tokenizer.json nor vocab.json + merges.txt"));
  }
  ASSIGN_OR_RETURN(TokenizerSpec spec,
                   internal::LoadVocabAndMerges((root / "vocab.json").string(),
                                                (root / "merges.txt").string()));
  ASSIGN_OR_RETURN(std::string config_source,
                   ApplyConfigIfPresent(root / "tokenizer_config.json",
                                        /*take_added_tokens=*/true, &spec));
  internal::AddNamedSpecialTokens(&spec);
  return internal::BpeTokenizer::Create(spec, config_source, options);
}

absl::StatusOr<std::string> Tokenizer::ApplyChatTemplate(absl::Span<const ChatMessage> messages,
                                                         const ChatOptions& options) const {
  return FormatChat(chat_format(), messages, options);
}

absl::StatusOr<std::vector<TokenId>> Tokenizer::EncodeChat(absl::Span<const ChatMessage> messages,
                                                           const ChatOptions& options) const {
  ASSIGN_OR_RETURN(std::string text, ApplyChatTemplate(messages, options));
  return Encode(text, EncodeOptions{.add_special_tokens = false});
}

}  // namespace rein::tokenizer
