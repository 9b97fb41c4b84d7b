#include "services/feedback/json_guard.h"

#include "absl/strings/str_cat.h"

namespace rein::feedback {

absl::Status CheckJsonDepth(absl::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (ch == '\\') {
        escaped = true;
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > max_depth) {
        return absl::InvalidArgumentError(
            absl::StrCat("body: JSON nested deeper than ", max_depth, " levels"));
      }
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return absl::OkStatus();
}

}  // namespace rein::feedback
