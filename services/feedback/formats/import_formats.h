// Existing preference data for import, one record per JSON line, the form detected per line:
//   (a) {"prompt": "...", "chosen": "...", "rejected": "..."}       TRL standard, explicit prompt
//   (b) {"prompt": [msgs], "chosen": [msgs], "rejected": [msgs]}    TRL conversational
//       {"chosen": [msgs], "rejected": [msgs]}                      TRL conversational, implicit
//                                                                   prompt
//   (c) {"chosen": "\n\nHuman: ...\n\nAssistant: ...", "rejected": "..."}   HH-RLHF transcripts
// where msgs are {"role": "system"|"user"|"assistant", "content": "..."}. In (b) and (c) the
// prompt messages (if any) are put before each side, then each side must end with an assistant
// turn, and everything before that last turn must be the same on both sides: that shared part
// is the context and each side's last assistant turn is its response. HH-RLHF "Human" turns
// become "user", "Assistant" turns "assistant"; turn text is trimmed of surrounding whitespace.
// Other keys (TRL datasets often carry scores or ids) are ignored.
//
// Thread safety: pure functions. No exception escapes; hostile input (deep nesting, invalid
// UTF-8, huge lines) is refused, never crashes.
#ifndef REIN_SERVICES_FEEDBACK_FORMATS_IMPORT_FORMATS_H_
#define REIN_SERVICES_FEEDBACK_FORMATS_IMPORT_FORMATS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/feedback/feedback_types.h"

namespace rein::feedback {

// One preference, ready to become an Item (chosen and rejected are response texts).
// Form (a): `prompt` is the prompt and `context` is empty. Forms (b) and (c): `context` is the
// whole conversation before the responses and `prompt` repeats its last turn when that is a
// user turn (for display; empty otherwise), so that export_formats.h writes `context` back
// unchanged as "messages".
struct ImportedPair {
  std::string prompt;
  std::vector<ChatMessage> context;
  std::string chosen;
  std::string rejected;
  bool operator==(const ImportedPair&) const = default;
};

inline constexpr size_t kMaxImportLineBytes = 1 << 20;  // per line, '\n' excluded
inline constexpr size_t kMaxImportLines = 1'000'000;
// Deeper than any preference record (a TRL message list is 3 deep); refused before parsing.
inline constexpr int kMaxImportJsonDepth = 16;

// One record (no '\n'). INVALID_ARGUMENT "<field>: <problem>" ("chosen[1].role: ...").
absl::StatusOr<ImportedPair> ParsePreferenceLine(absl::string_view line);

// Every record of `jsonl`; blank lines are skipped, a trailing '\r' is dropped. Stops at the
// first bad line: INVALID_ARGUMENT "line N: <field>: <problem>" for a line that is not one of
// the forms, is not valid JSON (invalid UTF-8 included), nests deeper than
// kMaxImportJsonDepth, is longer than kMaxImportLineBytes, or lies past kMaxImportLines; also
// when chosen or rejected is empty (the learner refuses empty responses) or both are the same.
absl::StatusOr<std::vector<ImportedPair>> ParsePreferenceJsonl(absl::string_view jsonl);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_FORMATS_IMPORT_FORMATS_H_
