#include "common/tokenizer/chat_template.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/strings/utf8.h"

namespace rein::tokenizer {
namespace {

using strings::IsPythonWhitespace;
using strings::TrimLeft;
using strings::TrimRight;


// Python's str.strip(chars) / lstrip / rstrip for a set of ASCII characters.
absl::string_view StripLeft(absl::string_view text, absl::string_view chars) {
  while (!text.empty() && absl::StrContains(chars, text.front())) text.remove_prefix(1);
  return text;
}
absl::string_view StripRight(absl::string_view text, absl::string_view chars) {
  while (!text.empty() && absl::StrContains(chars, text.back())) text.remove_suffix(1);
  return text;
}

absl::Status CheckRoles(absl::Span<const ChatMessage> messages) {
  if (messages.empty()) return absl::InvalidArgumentError("chat: no messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role != "system" && role != "user" && role != "assistant") {
      return absl::InvalidArgumentError(absl::StrCat(
          "chat: message ", i, " has role '", role, "'; expected system, user or assistant"));
    }
  }
  return absl::OkStatus();
}

// Qwen3's template: the reasoning of assistant turns after the last real user query is shown
// in a <think> block; earlier turns keep only their answer.
void AppendQwen3Assistant(const ChatMessage& message, bool after_last_query, bool is_last,
                          std::string* out) {
  std::string content = message.content;
  std::string reasoning;
  if (message.reasoning_content.has_value()) {
    reasoning = *message.reasoning_content;
  } else if (size_t end = content.find("</think>"); end != std::string::npos) {
    absl::string_view before = absl::string_view(content).substr(0, end);
    before = StripRight(before, "\n");
    if (size_t start = before.rfind("<think>"); start != absl::string_view::npos) {
      before = before.substr(start + 7);
    }
    reasoning = std::string(StripLeft(before, "\n"));
    content = std::string(
        StripLeft(absl::string_view(content).substr(content.rfind("</think>") + 8), "\n"));
  }
  if (after_last_query && (is_last || !reasoning.empty())) {
    absl::StrAppend(out, "<|im_start|>assistant\n<think>\n",
                    StripRight(StripLeft(reasoning, "\n"), "\n"), "\n</think>\n\n",
                    StripLeft(content, "\n"));
  } else {
    absl::StrAppend(out, "<|im_start|>assistant\n", content);
  }
  absl::StrAppend(out, "<|im_end|>\n");
}

std::string FormatChatMl(const ChatFormatParams& params, absl::Span<const ChatMessage> messages,
                         const ChatOptions& options) {
  // The last user turn that is a real query (not a wrapped tool response).
  size_t last_query = messages.size() - 1;
  for (size_t i = messages.size(); i-- > 0;) {
    const std::string& content = messages[i].content;
    if (messages[i].role == "user" && !(absl::StartsWith(content, "<tool_response>") &&
                                        absl::EndsWith(content, "</tool_response>"))) {
      last_query = i;
      break;
    }
  }
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    if (message.role == "assistant" && params.qwen3_thinking) {
      AppendQwen3Assistant(message, i > last_query, i + 1 == messages.size(), &out);
    } else {
      absl::StrAppend(&out, "<|im_start|>", message.role, "\n", message.content,
                      "<|im_end|>\n");
    }
  }
  if (options.add_generation_prompt) {
    absl::StrAppend(&out, "<|im_start|>assistant\n");
    if (params.qwen3_thinking && !options.enable_thinking) {
      absl::StrAppend(&out, "<think>\n\n</think>\n\n");
    }
  }
  return out;
}

std::string FormatLlama3(const ChatFormatParams& params, absl::Span<const ChatMessage> messages,
                         const ChatOptions& options) {
  std::string out = params.bos_token;
  for (const ChatMessage& message : messages) {
    absl::string_view content = TrimLeft(
        TrimRight(message.content, IsPythonWhitespace), IsPythonWhitespace);
    absl::StrAppend(&out, "<|start_header_id|>", message.role, "<|end_header_id|>\n\n", content,
                    "<|eot_id|>");
  }
  // The Llama 3 npm package's template always appends this header; Meta's Instruct template
  // appends it under add_generation_prompt, which is what we follow.
  if (options.add_generation_prompt) {
    absl::StrAppend(&out, "<|start_header_id|>assistant<|end_header_id|>\n\n");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> FormatChat(const ChatFormatParams& params,
                                       absl::Span<const ChatMessage> messages,
                                       const ChatOptions& options) {
  if (params.format == ChatFormat::kNone) {
    return absl::FailedPreconditionError(
        "chat: the tokenizer has no chat format Rein supports (ChatML or Llama 3)");
  }
  absl::Status roles = CheckRoles(messages);
  if (!roles.ok()) return roles;
  return params.format == ChatFormat::kChatMl ? FormatChatMl(params, messages, options)
                                              : FormatLlama3(params, messages, options);
}

}  // namespace rein::tokenizer
