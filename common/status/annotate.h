// Prefixes an error with what it concerns, e.g. the config key that named a file, keeping its
// code: "data.prompts: data file 'x.jsonl' cannot be read". OK values pass through untouched.
//
//   ASSIGN_OR_RETURN(auto prompts, Annotate("data.prompts", PromptDataset::Load(path, ...)));
#ifndef REIN_COMMON_STATUS_ANNOTATE_H_
#define REIN_COMMON_STATUS_ANNOTATE_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rein {

inline absl::Status Annotate(absl::string_view context, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

template <typename T>
absl::StatusOr<T> Annotate(absl::string_view context, absl::StatusOr<T> value) {
  if (value.ok()) return value;
  return Annotate(context, value.status());
}

}  // namespace rein

#endif  // REIN_COMMON_STATUS_ANNOTATE_H_
