// OpenByUrl: the one place a configured URL picks a backend.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/sql/database.h"

namespace rein::sql {

absl::StatusOr<std::unique_ptr<Database>> OpenByUrl(absl::string_view url) {
  if (absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://")) {
    return OpenPostgres({.conninfo = std::string(url)});
  }
  absl::string_view path = url;
  if (absl::ConsumePrefix(&path, "sqlite:")) {
    // "sqlite:///abs/path" has an empty authority; "sqlite://host/..." names a host, which an
    // embedded database cannot have.
    if (absl::ConsumePrefix(&path, "//") && !absl::StartsWith(path, "/")) {
      return absl::InvalidArgumentError(
          absl::StrCat("sqlite URL has a host part (want sqlite:///abs/path.db): ", url));
    }
    if (path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("sqlite URL has no path: ", url));
    }
    return OpenSqlite({.path = std::string(path)});
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported database URL (want sqlite:... or postgresql://...): ", url));
}

}  // namespace rein::sql
