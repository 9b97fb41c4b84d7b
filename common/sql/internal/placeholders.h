// Rewrites portable `?` placeholders into PostgreSQL's numbered `$1, $2, ...`. Private to
// common/sql; declared here so that a test can reach it.
#ifndef REIN_COMMON_SQL_INTERNAL_PLACEHOLDERS_H_
#define REIN_COMMON_SQL_INTERNAL_PLACEHOLDERS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace rein::sql::internal {

struct RewrittenSql {
  std::string text;
  int placeholders = 0;  // How many `?` became `$n`.
};

// Replaces each `?` outside quoted text with `$n`, n counting from 1. Left alone: string
// literals ('...' with '' as an escaped quote), quoted identifiers ("..." with ""), and
// `-- line` and `/* block */` comments. Not recognised (portable SQL does not use them):
// PostgreSQL's E'...' backslash escapes and $tag$...$tag$ dollar quoting.
RewrittenSql RewritePlaceholders(absl::string_view sql);

}  // namespace rein::sql::internal

#endif  // REIN_COMMON_SQL_INTERNAL_PLACEHOLDERS_H_
