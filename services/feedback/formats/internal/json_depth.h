// A bracket count that runs before nlohmann::json::parse: the parser recurses once per nesting
// level, so a line of 100k '[' would exhaust the stack. Counting is linear and never recurses.
#ifndef REIN_SERVICES_FEEDBACK_FORMATS_INTERNAL_JSON_DEPTH_H_
#define REIN_SERVICES_FEEDBACK_FORMATS_INTERNAL_JSON_DEPTH_H_

#include "absl/strings/string_view.h"

namespace rein::feedback::internal {

// Whether `text`, read as JSON, opens more than `max_depth` arrays/objects at once. Brackets
// inside strings (escapes included) do not count. Malformed text is left to the parser.
bool JsonDeeperThan(absl::string_view text, int max_depth);

}  // namespace rein::feedback::internal

#endif  // REIN_SERVICES_FEEDBACK_FORMATS_INTERNAL_JSON_DEPTH_H_
