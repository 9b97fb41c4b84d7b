#include "common/config/diagnostics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rein::config {

void Diagnostics::Add(int line, absl::string_view message) {
  ++count_;
  if (listed_.size() >= kMaxListed) return;
  listed_.push_back(line > 0 ? absl::StrCat(source_, ":", line, ": ", message)
                             : absl::StrCat(source_, ": ", message));
}

absl::Status Diagnostics::ToStatus() const {
  if (count_ == 0) return absl::OkStatus();
  std::string message = absl::StrJoin(listed_, "\n");
  if (count_ > listed_.size()) {
    absl::StrAppend(&message, "\n", source_, ": ... and ", count_ - listed_.size(), " more errors");
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace rein::config
