#include "services/feedback/formats/internal/json_depth.h"

namespace rein::feedback::internal {

bool JsonDeeperThan(absl::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (ch == '\\') {
        escaped = true;
      } else if (ch == '"') {
        in_string = false;
      }
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > max_depth) return true;
    } else if (ch == ']' || ch == '}') {
      if (depth > 0) --depth;  // a stray closer is malformed; the parser refuses it
    }
  }
  return false;
}

}  // namespace rein::feedback::internal
