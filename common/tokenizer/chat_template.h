// Chat formatting for the model families Rein supports, written in C++ from the chat templates
// their tokenizer_config.json files carry (no Jinja):
//   ChatML (Qwen2/2.5/3):  <|im_start|>{role}\n{content}<|im_end|>\n ...
//   Llama 3:               <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n
//                          {content, trimmed}<|eot_id|> ...
// Supports system, user and assistant turns (no tools). Stateless; thread safe.
#ifndef REIN_COMMON_TOKENIZER_CHAT_TEMPLATE_H_
#define REIN_COMMON_TOKENIZER_CHAT_TEMPLATE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace rein::tokenizer {

enum class ChatFormat {
  kNone,    // The tokenizer has no chat format Rein knows.
  kChatMl,  // Qwen: <|im_start|> / <|im_end|>.
  kLlama3,  // Llama 3: <|start_header_id|> / <|end_header_id|> / <|eot_id|>.
};

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant".
  std::string content;
  // Qwen3 only: the assistant's reasoning, rendered inside <think>...</think> for assistant turns
  // after the last user turn. Default: none, in which case a "<think>...</think>" prefix of
  // `content` is taken as the reasoning, as Qwen3's template does.
  std::optional<std::string> reasoning_content;
};

struct ChatOptions {
  // Append the header that opens an assistant turn. Default: false (as in transformers'
  // apply_chat_template).
  bool add_generation_prompt = false;
  // Qwen3 only: when false, the generation prompt carries an empty "<think>\n\n</think>\n\n"
  // block that turns reasoning off. Default: true.
  bool enable_thinking = true;
};

// Details of a format that come from the tokenizer's files.
struct ChatFormatParams {
  ChatFormat format = ChatFormat::kNone;
  // Llama 3: the text put before the first turn (tokenizer_config.json's bos_token).
  std::string bos_token;
  // ChatML: whether the template has Qwen3's reasoning handling (<think> blocks).
  bool qwen3_thinking = false;
};

// Renders `messages` as text ready for Encode. INVALID_ARGUMENT for an empty conversation or an
// unknown role; FAILED_PRECONDITION for ChatFormat::kNone.
absl::StatusOr<std::string> FormatChat(const ChatFormatParams& params,
                                       absl::Span<const ChatMessage> messages,
                                       const ChatOptions& options);

}  // namespace rein::tokenizer

#endif  // REIN_COMMON_TOKENIZER_CHAT_TEMPLATE_H_
