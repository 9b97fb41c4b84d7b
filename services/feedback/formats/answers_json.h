// The "answers" JSON object of the HTTP API (http_api.md) and of every stored judgement:
//   {"pairwise": "a", "ranks": [1, 2], "ratings": [6, 3],
//    "flags": [{"approved": true}, {"approved": false, "categories": ["harmful"]}],
//    "comment": "...", "correction": "..."}
// Indices are whatever order the caller speaks in (shown positions over HTTP, item order in the
// store and in exports); these functions only check and convert, they never reorder.
//
// Errors name the offending field. The message always begins with the field path and ": "
// ("answers.ratings[2]: 9 is outside 1..7"), and the same path travels as a status payload
// under kFieldPayloadUrl, so that a caller can point at the field without parsing the message:
// FieldErrorOf(status) returns both parts.
//
// Thread safety: pure functions. No exception escapes.
#ifndef REIN_SERVICES_FEEDBACK_FORMATS_ANSWERS_JSON_H_
#define REIN_SERVICES_FEEDBACK_FORMATS_ANSWERS_JSON_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/feedback/feedback_types.h"

namespace rein::feedback {

// Longest accepted free text, in bytes. A correction is a response, so it gets a response's
// limit (the store's 256 KiB per response text); a comment is a remark.
inline constexpr size_t kMaxCommentBytes = 64 << 10;
inline constexpr size_t kMaxCorrectionBytes = 256 << 10;

// The status payload holding the field path of an INVALID_ARGUMENT from AnswersFromJson.
inline constexpr char kFieldPayloadUrl[] = "type.googleapis.com/rein.feedback.FieldError";

struct FieldError {
  std::string field;    // e.g. "answers.ratings[2]"
  std::string message;  // e.g. "9 is outside 1..7"
};

// Only the questions answered appear: no "pairwise" when unset, no "ranks"/"ratings"/"flags"
// when empty, no "comment"/"correction" when empty. Flag categories appear only on flagged
// responses.
nlohmann::json AnswersToJson(const Answers& answers);

// Parses and checks `json` against `num_responses` (K, 1..kMaxResponses) and the questions
// `asked`:
//   - unknown keys are refused, and so are keys of questions the campaign does not ask;
//   - every asked question must be answered, except comment and correction (optional);
//   - pairwise is one of a, b, tie, both_bad, and only for items with exactly 2 responses;
//   - ranks: K integers 1..K, ties sharing a rank in standard competition form (1 1 3, 1 2 2;
//     not 1 1 2), so that the best response has rank 1 and the same ordering has one spelling;
//   - ratings: K integers kMinRating..kMaxRating;
//   - flags: K objects {"approved": bool, "categories": [...]}, categories non-empty exactly
//     when flagged, each named once;
//   - comment and correction: strings within kMaxCommentBytes / kMaxCorrectionBytes.
// INVALID_ARGUMENT as described at the top of this file.
absl::StatusOr<Answers> AnswersFromJson(const nlohmann::json& json, int num_responses,
                                        const std::vector<QuestionType>& asked);

// The field and message of an INVALID_ARGUMENT from AnswersFromJson; nullopt for any other
// status (including OK and statuses re-created by callers without the payload).
std::optional<FieldError> FieldErrorOf(const absl::Status& status);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_FORMATS_ANSWERS_JSON_H_
