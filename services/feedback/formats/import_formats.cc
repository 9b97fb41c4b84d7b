#include "services/feedback/formats/import_formats.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"
#include "services/feedback/formats/internal/json_depth.h"

namespace rein::feedback {
namespace {

using Json = nlohmann::json;

absl::Status Bad(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// A TRL message list, with the roles the learner's loader accepts.
absl::StatusOr<std::vector<ChatMessage>> Messages(const Json& json, const std::string& field) {
  if (!json.is_array()) return Bad(field, "must be a list of messages");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& m = json[i];
    const std::string at = absl::StrCat(field, "[", i, "]");
    if (!m.is_object()) return Bad(at, "must be an object {\"role\", \"content\"}");
    auto role = m.find("role"), content = m.find("content");
    if (role == m.end() || !role->is_string()) return Bad(at + ".role", "must be a string");
    if (content == m.end() || !content->is_string()) {
      return Bad(at + ".content", "must be a string");
    }
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant") {
      return Bad(at + ".role", absl::StrCat("'", r, "' is not system, user or assistant"));
    }
    out.push_back({r, content->get<std::string>()});
  }
  return out;
}

// HH-RLHF: "\n\nHuman: hi\n\nAssistant: hello" -> [{user, hi}, {assistant, hello}].
absl::StatusOr<std::vector<ChatMessage>> Transcript(const std::string& text,
                                                    const std::string& field) {
  static const std::string kHuman = "\n\nHuman:", kAssistant = "\n\nAssistant:";
  // A few copies of the data set drop the leading blank line; read them the same way.
  const std::string s = absl::StartsWith(absl::StripLeadingAsciiWhitespace(text), "Human:")
                            ? "\n\n" + std::string(absl::StripLeadingAsciiWhitespace(text))
                            : text;
  std::vector<ChatMessage> turns;
  size_t pos = 0;
  while (true) {
    const size_t h = s.find(kHuman, pos), a = s.find(kAssistant, pos);
    const size_t start = std::min(h, a);
    const absl::string_view between =
        absl::string_view(s).substr(pos, start == std::string::npos ? s.npos : start - pos);
    if (turns.empty()) {
      // Text before the first marker would be dropped: not a transcript.
      if (!absl::StripAsciiWhitespace(between).empty() || start == std::string::npos) {
        return Bad(field, "not an HH-RLHF transcript (\"\\n\\nHuman: ...\\n\\nAssistant: ...\")");
      }
    } else {
      turns.back().content = std::string(absl::StripAsciiWhitespace(between));
    }
    if (start == std::string::npos) break;
    const bool human = start == h;
    turns.push_back({human ? "user" : "assistant", ""});
    pos = start + (human ? kHuman.size() : kAssistant.size());
  }
  return turns;
}

// Splits two whole conversations into the shared context and each side's last assistant turn.
absl::StatusOr<ImportedPair> FromConversations(std::vector<ChatMessage> chosen,
                                               std::vector<ChatMessage> rejected) {
  if (chosen.empty() || chosen.back().role != "assistant") {
    return Bad("chosen", "must end with an assistant turn (the response)");
  }
  if (rejected.empty() || rejected.back().role != "assistant") {
    return Bad("rejected", "must end with an assistant turn (the response)");
  }
  ImportedPair pair;
  pair.chosen = std::move(chosen.back().content);
  pair.rejected = std::move(rejected.back().content);
  chosen.pop_back();
  rejected.pop_back();
  if (chosen != rejected) {
    return Bad("rejected", "the turns before the last assistant turn differ from chosen's");
  }
  if (chosen.empty()) return Bad("chosen", "no prompt turn before the response");
  pair.context = std::move(chosen);
  if (pair.context.back().role == "user") pair.prompt = pair.context.back().content;
  return pair;
}

absl::StatusOr<ImportedPair> FromRecord(const Json& r) {
  if (!r.is_object()) return absl::InvalidArgumentError("not a JSON object");
  auto c = r.find("chosen"), x = r.find("rejected"), p = r.find("prompt");
  if (c == r.end()) return Bad("chosen", "missing");
  if (x == r.end()) return Bad("rejected", "missing");
  ImportedPair pair;
  if (c->is_string() && x->is_string()) {
    if (p != r.end()) {  // (a)
      if (!p->is_string()) {
        return Bad("prompt", "must be a string when chosen and rejected are strings");
      }
      pair = {p->get<std::string>(), {}, c->get<std::string>(), x->get<std::string>()};
    } else {  // (c)
      ASSIGN_OR_RETURN(std::vector<ChatMessage> chosen,
                       Transcript(c->get<std::string>(), "chosen"));
      ASSIGN_OR_RETURN(std::vector<ChatMessage> rejected,
                       Transcript(x->get<std::string>(), "rejected"));
      ASSIGN_OR_RETURN(pair, FromConversations(std::move(chosen), std::move(rejected)));
    }
  } else if (c->is_array() && x->is_array()) {  // (b)
    ASSIGN_OR_RETURN(std::vector<ChatMessage> chosen, Messages(*c, "chosen"));
    ASSIGN_OR_RETURN(std::vector<ChatMessage> rejected, Messages(*x, "rejected"));
    if (p != r.end()) {
      if (!p->is_array()) {
        return Bad("prompt", "must be a list of messages when chosen and rejected are");
      }
      ASSIGN_OR_RETURN(std::vector<ChatMessage> prompt, Messages(*p, "prompt"));
      chosen.insert(chosen.begin(), prompt.begin(), prompt.end());
      rejected.insert(rejected.begin(), prompt.begin(), prompt.end());
    }
    ASSIGN_OR_RETURN(pair, FromConversations(std::move(chosen), std::move(rejected)));
  } else if (!c->is_string() && !c->is_array()) {
    return Bad("chosen", "must be a string or a list of messages");
  } else {
    return Bad("rejected", c->is_string() ? "must be a string, like chosen"
                                          : "must be a list of messages, like chosen");
  }
  if (pair.chosen.empty()) return Bad("chosen", "empty response");
  if (pair.rejected.empty()) return Bad("rejected", "empty response");
  if (pair.chosen == pair.rejected) return Bad("rejected", "the same text as chosen");
  return pair;
}

absl::StatusOr<ImportedPair> ParseLine(absl::string_view line) {
  if (line.size() > kMaxImportLineBytes) return absl::InvalidArgumentError("longer than 1 MiB");
  if (internal::JsonDeeperThan(line, kMaxImportJsonDepth)) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON nested deeper than ", kMaxImportJsonDepth));
  }
  // nlohmann validates UTF-8 while parsing: invalid bytes make the line malformed.
  Json record = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded())
    return absl::InvalidArgumentError("not valid JSON (or not valid UTF-8)");
  return FromRecord(record);
}

}  // namespace

absl::StatusOr<ImportedPair> ParsePreferenceLine(absl::string_view line) {
  try {
    return ParseLine(line);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("import: unexpected error: ", e.what()));
  }
}

absl::StatusOr<std::vector<ImportedPair>> ParsePreferenceJsonl(absl::string_view jsonl) {
  std::vector<ImportedPair> pairs;
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(jsonl, '\n')) {
    ++line_no;
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    auto fail = [&](const absl::Status& status) {
      return absl::Status(status.code(), absl::StrCat("line ", line_no, ": ", status.message()));
    };
    // Size first, so that a huge blank line is not scanned twice.
    if (line.size() > kMaxImportLineBytes)
      return fail(absl::InvalidArgumentError("longer than 1 MiB"));
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (line_no > kMaxImportLines) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("past the import limit of ", kMaxImportLines, " lines")));
    }
    absl::StatusOr<ImportedPair> pair = ParsePreferenceLine(line);
    if (!pair.ok()) return fail(pair.status());
    try {
      pairs.push_back(*std::move(pair));
    } catch (const std::exception& e) {  // bad_alloc on a huge import
      return absl::ResourceExhaustedError(absl::StrCat("import: ", e.what()));
    }
  }
  return pairs;
}

}  // namespace rein::feedback
