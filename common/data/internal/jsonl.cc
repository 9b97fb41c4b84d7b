#include "common/data/internal/jsonl.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::data::internal {
namespace {

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

}  // namespace

absl::Status LineError(const std::string& path, int line, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", problem));
}

absl::Status ForEachRecord(const std::string& path,
                           const std::function<absl::Status(const Json&, int)>& visit) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("data file '", path, "' cannot be read"));
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json record = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) return LineError(path, line, "malformed JSON");
    if (!record.is_object()) return LineError(path, line, "expected a JSON object");
    RETURN_IF_ERROR(visit(record, line));
  }
  return absl::OkStatus();
}

absl::Status CheckPromptFormat(PromptFormat format, const tokenizer::Tokenizer& tokenizer) {
  if (format == PromptFormat::kChat &&
      tokenizer.chat_format().format == tokenizer::ChatFormat::kNone) {
    return absl::FailedPreconditionError("prompt_format chat, but the tokenizer has no chat format");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringField(const Json& record, const char* key,
                                        const std::string& path, int line) {
  auto it = record.find(key);
  if (it == record.end() || !it->is_string()) {
    return LineError(path, line, absl::StrCat("\"", key, "\" must be a string"));
  }
  return it->get<std::string>();
}

absl::StatusOr<std::vector<tokenizer::TokenId>> EncodePrompt(const Json& record,
                                                             PromptFormat format,
                                                             const tokenizer::Tokenizer& tokenizer,
                                                             const std::string& path, int line) {
  bool has_prompt = record.contains("prompt"), has_messages = record.contains("messages");
  if (has_prompt == has_messages) {
    return LineError(path, line, "expected exactly one of \"prompt\" and \"messages\"");
  }
  const bool chat =
      format == PromptFormat::kChat || (format == PromptFormat::kAuto && has_messages);
  if (chat && tokenizer.chat_format().format == tokenizer::ChatFormat::kNone) {
    return LineError(path, line, "\"messages\" needs a chat format, and the tokenizer has none "
                                 "(no chat_template Rein knows)");
  }
  std::vector<tokenizer::ChatMessage> messages;
  if (has_prompt) {
    ASSIGN_OR_RETURN(std::string text, StringField(record, "prompt", path, line));
    if (!chat) {
      auto ids = tokenizer.Encode(text);
      if (!ids.ok()) return LineError(path, line, ids.status().message());
      return ids;
    }
    messages.push_back({"user", std::move(text), ""});
  } else {
    if (!chat) {
      return LineError(path, line, "\"messages\" needs a chat format (prompt_format: chat or "
                                   "auto, and a tokenizer with a chat template)");
    }
    ASSIGN_OR_RETURN(messages, ParseMessages(record["messages"], path, line));
  }
  tokenizer::ChatOptions options;
  options.add_generation_prompt = true;
  auto ids = tokenizer.EncodeChat(messages, options);
  if (!ids.ok()) return LineError(path, line, ids.status().message());
  return ids;
}

absl::StatusOr<std::vector<tokenizer::TokenId>> EncodeResponse(
    const std::string& text, const tokenizer::Tokenizer& tokenizer, const std::string& path,
    int line) {
  const std::optional<tokenizer::TokenId> eos = tokenizer.special_ids().eos;
  if (!eos) {
    return absl::FailedPreconditionError(
        "the tokenizer names no eos_token (tokenizer_config.json): responses need one to end");
  }
  auto ids = tokenizer.Encode(text);
  if (!ids.ok()) return LineError(path, line, ids.status().message());
  if (ids->empty()) return LineError(path, line, "response encodes to no tokens");
  ids->push_back(*eos);
  return ids;
}

}  // namespace rein::data::internal
