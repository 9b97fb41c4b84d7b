#include "common/data/internal/trl_forms.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::data::internal {
namespace {

// The content of `value` when it is a list holding one assistant message.
absl::StatusOr<std::string> AssistantContent(const Json& value, const char* key,
                                             const std::string& path, int line) {
  const bool one_assistant = value.size() == 1 && value[0].is_object() &&
                             value[0].contains("role") && value[0]["role"] == "assistant" &&
                             value[0].contains("content") && value[0]["content"].is_string();
  if (!one_assistant) {
    return LineError(path, line,
                     absl::StrCat("\"", key, "\" as a list must hold exactly one assistant "
                                  "message ({\"role\": \"assistant\", \"content\": \"...\"})"));
  }
  return value[0]["content"].get<std::string>();
}

// Implicit prompt, conversational: the shared leading messages are the context.
absl::Status SplitSharedMessages(Json& record, const std::string& path, int line) {
  const Json chosen = record["chosen"], rejected = record["rejected"];
  size_t shared = 0;
  while (shared < chosen.size() && shared < rejected.size() && chosen[shared] == rejected[shared]) {
    ++shared;
  }
  if (shared == 0) {
    return LineError(path, line, "\"chosen\" and \"rejected\" share no leading message: no "
                                 "prompt to learn from (give \"prompt\")");
  }
  record["messages"] = Json(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(shared));
  record["chosen"] = Json(chosen.begin() + static_cast<std::ptrdiff_t>(shared), chosen.end());
  record["rejected"] = Json(rejected.begin() + static_cast<std::ptrdiff_t>(shared), rejected.end());
  return absl::OkStatus();
}

// Implicit prompt, plain text: the longest common prefix is the prompt.
absl::Status SplitSharedPrefix(Json& record, const std::string& path, int line) {
  const std::string chosen = record["chosen"].get<std::string>();
  const std::string rejected = record["rejected"].get<std::string>();
  size_t shared = static_cast<size_t>(
      std::mismatch(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(
                                                         std::min(chosen.size(), rejected.size())),
                    rejected.begin())
          .first -
      chosen.begin());
  if (shared > 0 && chosen[shared - 1] == ' ') --shared;
  // Never split a UTF-8 character: back up to the start of the one the split falls in.
  while (shared > 0 && (static_cast<unsigned char>(chosen[shared]) & 0xC0) == 0x80) --shared;
  if (shared == 0) {
    return LineError(path, line, "\"chosen\" and \"rejected\" share no start: no prompt to "
                                 "learn from (give \"prompt\")");
  }
  if (shared == chosen.size() || shared == rejected.size()) {
    return LineError(path, line,
                     "\"chosen\" or \"rejected\" is all shared prompt: nothing left to compare");
  }
  record["prompt"] = chosen.substr(0, shared);
  record["chosen"] = chosen.substr(shared);
  record["rejected"] = rejected.substr(shared);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Json> NormalizeTrlRecord(const Json& record, const std::string& path, int line) {
  Json out = record;
  const bool implicit = !out.contains("prompt") && !out.contains("messages") &&
                        out.contains("chosen") && out.contains("rejected");
  if (implicit) {
    if (out["chosen"].is_array() && out["rejected"].is_array()) {
      RETURN_IF_ERROR(SplitSharedMessages(out, path, line));
    } else if (out["chosen"].is_string() && out["rejected"].is_string()) {
      RETURN_IF_ERROR(SplitSharedPrefix(out, path, line));
    }
  }
  if (out.contains("prompt") && out["prompt"].is_array() && !out.contains("messages")) {
    out["messages"] = out["prompt"];
    out.erase("prompt");
  }
  for (const char* key : {"chosen", "rejected", "completion"}) {
    if (out.contains(key) && out[key].is_array()) {
      ASSIGN_OR_RETURN(std::string content, AssistantContent(out[key], key, path, line));
      out[key] = std::move(content);
    }
  }
  return out;
}

}  // namespace rein::data::internal
