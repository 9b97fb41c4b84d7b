#include "common/data/prompt_dataset.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::data {
namespace {

using Json = nlohmann::json;

absl::Status LineError(const std::string& path, int line, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", problem));
}

absl::StatusOr<std::vector<tokenizer::ChatMessage>> ParseMessages(const Json& messages,
                                                                  const std::string& path,
                                                                  int line) {
  if (!messages.is_array() || messages.empty()) {
    return LineError(path, line, "\"messages\" must be a non-empty list");
  }
  std::vector<tokenizer::ChatMessage> parsed;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& message = messages[i];
    std::string where = absl::StrCat("messages[", i, "]");
    if (!message.is_object() || !message.contains("role") || !message["role"].is_string() ||
        !message.contains("content") || !message["content"].is_string()) {
      return LineError(path, line, absl::StrCat(where, " needs string \"role\" and \"content\""));
    }
    std::string role = message["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant") {
      return LineError(path, line, absl::StrCat(where, ".role '", role,
                                                "' is not system, user or assistant"));
    }
    parsed.push_back({role, message["content"].get<std::string>(), ""});
  }
  return parsed;
}

bool UseChat(PromptFormat format, const tokenizer::Tokenizer& tokenizer) {
  if (format == PromptFormat::kAuto) {
    return tokenizer.chat_format().format != tokenizer::ChatFormat::kNone;
  }
  return format == PromptFormat::kChat;
}

// One JSONL record → token ids.
absl::StatusOr<std::vector<tokenizer::TokenId>> EncodeRecord(const Json& record, bool chat,
                                                             const tokenizer::Tokenizer& tokenizer,
                                                             const std::string& path, int line) {
  if (!record.is_object()) return LineError(path, line, "expected a JSON object");
  bool has_prompt = record.contains("prompt"), has_messages = record.contains("messages");
  if (has_prompt == has_messages) {
    return LineError(path, line, "expected exactly one of \"prompt\" and \"messages\"");
  }
  std::vector<tokenizer::ChatMessage> messages;
  if (has_prompt) {
    if (!record["prompt"].is_string()) return LineError(path, line, "\"prompt\" must be a string");
    std::string text = record["prompt"].get<std::string>();
    if (!chat) return tokenizer.Encode(text);
    messages.push_back({"user", std::move(text), ""});
  } else {
    if (!chat) {
      return LineError(path, line, "\"messages\" needs a chat format (prompt_format: chat, and "
                                   "a tokenizer with a chat template)");
    }
    ASSIGN_OR_RETURN(messages, ParseMessages(record["messages"], path, line));
  }
  tokenizer::ChatOptions options;
  options.add_generation_prompt = true;
  auto ids = tokenizer.EncodeChat(messages, options);
  if (!ids.ok()) return LineError(path, line, ids.status().message());
  return ids;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PromptDataset>> PromptDataset::Load(
    const std::string& path, const tokenizer::Tokenizer& tokenizer,
    const PromptDatasetOptions& options) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("prompts file '", path, "' cannot be read"));
  const bool chat = UseChat(options.format, tokenizer);
  if (chat && tokenizer.chat_format().format == tokenizer::ChatFormat::kNone) {
    return absl::FailedPreconditionError("prompt_format chat, but the tokenizer has no chat format");
  }
  std::vector<std::vector<tokenizer::TokenId>> prompts;
  size_t skipped = 0;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json record = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) return LineError(path, line, "malformed JSON");
    ASSIGN_OR_RETURN(std::vector<tokenizer::TokenId> ids,
                     EncodeRecord(record, chat, tokenizer, path, line));
    if (ids.empty()) return LineError(path, line, "prompt encodes to no tokens");
    if (static_cast<int>(ids.size()) > options.max_prompt_tokens) {
      ++skipped;
      continue;
    }
    prompts.push_back(std::move(ids));
  }
  if (prompts.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no usable prompt in '", path, "' (", skipped, " longer than max_prompt_tokens ",
        options.max_prompt_tokens, ")"));
  }
  return std::unique_ptr<PromptDataset>(new PromptDataset(std::move(prompts), skipped));
}

std::vector<Prompt> PromptDataset::Next(size_t n) {
  std::vector<Prompt> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i, ++cursor_) {
    uint64_t index = cursor_ % prompts_.size();
    batch.push_back({index, prompts_[index]});
  }
  return batch;
}

}  // namespace rein::data
