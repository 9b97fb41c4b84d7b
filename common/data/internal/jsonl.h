// What every JSON Lines dataset of Rein shares: reading a file record by record with the line
// number for errors, and turning a record's prompt ({"prompt"} or {"messages"}) into token ids.
#ifndef REIN_COMMON_DATA_INTERNAL_JSONL_H_
#define REIN_COMMON_DATA_INTERNAL_JSONL_H_

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/data/prompt_dataset.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::data::internal {

using Json = nlohmann::json;

// INVALID_ARGUMENT "path:line: problem".
absl::Status LineError(const std::string& path, int line, absl::string_view problem);

// Calls `visit(record, line)` for every non-blank line of `path`, stopping at its first error.
// NOT_FOUND naming the file when it cannot be read; INVALID_ARGUMENT naming the line for
// malformed JSON or a line that is not an object.
absl::Status ForEachRecord(const std::string& path,
                           const std::function<absl::Status(const Json&, int)>& visit);

// `format`, checked before any line is read: FAILED_PRECONDITION for kChat with a tokenizer
// that has no chat format.
absl::Status CheckPromptFormat(PromptFormat format, const tokenizer::Tokenizer& tokenizer);

// The prompt of `record` as token ids: "prompt" (a string) or "messages" (chat turns, through
// the chat format, ending with the header that opens the assistant's turn). Exactly one must be
// present. kChat makes a "prompt" one user turn; kText refuses "messages"; kAuto encodes each
// line by what it holds.
absl::StatusOr<std::vector<tokenizer::TokenId>> EncodePrompt(const Json& record,
                                                             PromptFormat format,
                                                             const tokenizer::Tokenizer& tokenizer,
                                                             const std::string& path, int line);

// `text` as the tokens of a response: encoded without special tokens, then the tokenizer's EOS
// appended (FAILED_PRECONDITION if it names none) so that the model learns to stop.
absl::StatusOr<std::vector<tokenizer::TokenId>> EncodeResponse(
    const std::string& text, const tokenizer::Tokenizer& tokenizer, const std::string& path,
    int line);

// record[key] as a string; INVALID_ARGUMENT naming the line and key otherwise.
absl::StatusOr<std::string> StringField(const Json& record, const char* key,
                                        const std::string& path, int line);

}  // namespace rein::data::internal

#endif  // REIN_COMMON_DATA_INTERNAL_JSONL_H_
