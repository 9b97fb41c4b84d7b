// Chat formatting. The expected strings were rendered by Jinja2 (trim_blocks, lstrip_blocks, as
// transformers renders) from the chat_template of each pinned tokenizer_config.json.
#include "common/tokenizer/chat_template.h"

#include <catch2/catch.hpp>

#include "common/tokenizer/tokenizer_test_util.h"

namespace rein::tokenizer {
namespace {

ChatMessage Message(std::string role, std::string content) {
  return ChatMessage{std::move(role), std::move(content), std::nullopt};
}

ChatFormatParams Qwen3() {
  ChatFormatParams params;
  params.format = ChatFormat::kChatMl;
  params.qwen3_thinking = true;
  return params;
}

ChatFormatParams Llama3() {
  ChatFormatParams params;
  params.format = ChatFormat::kLlama3;
  params.bos_token = "<|begin_of_text|>";
  return params;
}

ChatOptions Options(bool add_generation_prompt, bool enable_thinking = true) {
  ChatOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.enable_thinking = enable_thinking;
  return options;
}

std::string Format(const ChatFormatParams& params, const std::vector<ChatMessage>& messages,
                   const ChatOptions& options) {
  absl::StatusOr<std::string> text = FormatChat(params, messages, options);
  REQUIRE(text.ok());
  return *text;
}

const std::vector<ChatMessage> kSystemUser = {Message("system", "You are a helpful assistant."),
                                              Message("user", "What is 2+2?")};

TEST_CASE("ChatML (Qwen3): system and user turns with a generation prompt") {
  CHECK(Format(Qwen3(), kSystemUser, Options(true)) ==
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n");
  CHECK(Format(Qwen3(), kSystemUser, Options(true, /*enable_thinking=*/false)) ==
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
        "<think>\n\n</think>\n\n");
  CHECK(Format(Qwen3(), kSystemUser, Options(false)) ==
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
}

TEST_CASE("ChatML (Qwen3): reasoning is dropped before the last query and shown after it") {
  CHECK(Format(Qwen3(),
               {Message("user", "Hi"),
                Message("assistant", "<think>\nLet me think.\n</think>\n\nHello!"),
                Message("user", "Bye")},
               Options(false)) ==
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nBye<|im_end|>\n");
  CHECK(Format(Qwen3(), {Message("user", "Hi"), Message("assistant", "Hello!")}, Options(false)) ==
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\nHello!<|im_end|>\n");
  ChatMessage answer = Message("assistant", "A");
  answer.reasoning_content = "R";
  CHECK(Format(Qwen3(), {Message("user", "Q"), answer}, Options(false)) ==
        "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nR\n</think>\n\nA"
        "<|im_end|>\n");
  CHECK(Format(Qwen3(),
               {Message("system", "S"), Message("user", "  U \n"), Message("assistant", "A\n"),
                Message("user", "U2")},
               Options(true)) ==
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n  U \n<|im_end|>\n"
        "<|im_start|>assistant\nA\n<|im_end|>\n<|im_start|>user\nU2<|im_end|>\n"
        "<|im_start|>assistant\n");
}

TEST_CASE("Llama 3: header tokens, trimmed content, BOS first") {
  CHECK(Format(Llama3(), kSystemUser, Options(true)) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "You are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
        "What is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(Format(Llama3(),
               {Message("system", "S"), Message("user", "  U \n"), Message("assistant", "A\n"),
                Message("user", "U2")},
               Options(true)) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nA<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // Without the generation prompt the conversation ends with the last turn (Meta's Instruct
  // template; the npm package's template appends the header unconditionally).
  CHECK(Format(Llama3(), {Message("user", "Hi")}, Options(false)) ==
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}

TEST_CASE("Chat formatting rejects unknown roles, empty chats and tokenizers without a format") {
  absl::StatusOr<std::string> bad_role = FormatChat(Qwen3(), {Message("tool", "x")}, {});
  REQUIRE_FALSE(bad_role.ok());
  CHECK(bad_role.status().message().find("'tool'") != absl::string_view::npos);
  CHECK(FormatChat(Llama3(), {}, {}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(FormatChat(ChatFormatParams{}, kSystemUser, {}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("The real tokenizers know their chat format and encode turns with single special ids") {
  const Tokenizer& qwen = testing::CachedTokenizer("qwen3");
  REQUIRE(qwen.chat_format().format == ChatFormat::kChatMl);
  CHECK(qwen.chat_format().qwen3_thinking);
  absl::StatusOr<std::vector<TokenId>> ids = qwen.EncodeChat(kSystemUser, Options(true));
  REQUIRE(ids.ok());
  CHECK(ids->front() == 151644);  // <|im_start|>
  CHECK(std::count(ids->begin(), ids->end(), 151645) == 2);  // <|im_end|>
  CHECK(*qwen.Decode(*ids) == *qwen.ApplyChatTemplate(kSystemUser, Options(true)));

  const Tokenizer& llama = testing::CachedTokenizer("llama3");
  REQUIRE(llama.chat_format().format == ChatFormat::kLlama3);
  CHECK(llama.chat_format().bos_token == "<|begin_of_text|>");
  ids = llama.EncodeChat(kSystemUser, Options(true));
  REQUIRE(ids.ok());
  CHECK(ids->front() == 128000);                              // <|begin_of_text|>
  CHECK(std::count(ids->begin(), ids->end(), 128006) == 3);   // <|start_header_id|>
  CHECK(std::count(ids->begin(), ids->end(), 128009) == 2);   // <|eot_id|>
}

}  // namespace
}  // namespace rein::tokenizer
