// JSON Lines input of `reinctl feedback add-items` and `sample`, turned into rein.v1 messages.
// No I/O beyond reading the given file, no RPC: the commands call these, tests call them alone.
//
// One add-items line:
//   {"prompt": "...", "messages": [{"role": "user", "content": "..."}],   (messages optional)
//    "responses": ["..", ".."]  or  [{"text": "..", "policy_version": 3, "model": "..",
//                                     "seed": 7, "sampling": {...}, "synthetic": true}, ...],
//    "id": "external id (optional)", "gold": false, "gold_answer": {...}}
// "messages" is the chat history before the responses (Item.context); with it, "prompt" may be
// left out and is then the last user turn, as rein-feedback's importer does. A response given as
// a plain string has an unknown policy version (-1).
#ifndef REIN_SERVICES_REINCTL_FEEDBACK_ITEMS_H_
#define REIN_SERVICES_REINCTL_FEEDBACK_ITEMS_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rein/v1/feedback.pb.h"

namespace rein::reinctl {

// Calls `visit(record, line)` (line numbers from 1) for every non-blank line of `path`,
// stopping at the first error. NOT_FOUND when the file cannot be read; INVALID_ARGUMENT
// "path:line: problem" for malformed JSON, a line that is not an object, or an error `visit`
// returns (which gets the same prefix).
absl::Status ForEachJsonLine(const std::string& path,
                             const std::function<absl::Status(const nlohmann::json&, int)>& visit);

// The item one add-items record describes. INVALID_ARGUMENT naming the key that is wrong. An
// item without "id" gets ContentId(record) as its external id, so that adding the same file
// again (say after a failed batch) adds nothing twice.
absl::StatusOr<rein::v1::Item> ParseItem(const nlohmann::json& record);

// Chat turns from a "messages" value: a non-empty list of {"role": system|user|assistant,
// "content": string}.
absl::StatusOr<std::vector<rein::v1::ChatMessage>> ParseMessages(const nlohmann::json& messages);

// Content of the last user turn; "" when there is none.
std::string LastUserTurn(const std::vector<rein::v1::ChatMessage>& messages);

// 64-bit FNV-1a: a hash that is the same on every machine and every run (std::hash is not
// promised to be), for ids and seeds that must survive re-runs.
uint64_t StableHash(absl::string_view bytes);

// "<prefix><16 hex digits of StableHash(bytes)>".
std::string StableId(absl::string_view prefix, absl::string_view bytes);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_FEEDBACK_ITEMS_H_
