// A cheap pre-check of untrusted JSON before it reaches the parser: nesting deeper than any
// document of ours is refused up front, so hostile input cannot exhaust the stack of a
// recursive consumer (or of the parsed value's destructor).
#ifndef REIN_SERVICES_FEEDBACK_JSON_GUARD_H_
#define REIN_SERVICES_FEEDBACK_JSON_GUARD_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rein::feedback {

// Deeper than every request and import record the service accepts.
inline constexpr int kMaxJsonDepth = 32;

// INVALID_ARGUMENT "body: JSON nested deeper than N" when brackets outside strings nest deeper
// than `max_depth`. Does not validate anything else.
absl::Status CheckJsonDepth(absl::string_view text, int max_depth);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_JSON_GUARD_H_
