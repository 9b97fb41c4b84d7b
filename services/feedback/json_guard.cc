#include "services/feedback/json_guard.h"

#include "absl/strings/str_cat.h"
#include "services/feedback/formats/internal/json_depth.h"

namespace rein::feedback {

absl::Status CheckJsonDepth(absl::string_view text, int max_depth) {
  if (!internal::JsonDeeperThan(text, max_depth)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("body: JSON nested deeper than ", max_depth, " levels"));
}

}  // namespace rein::feedback
