#include "common/sql/internal/placeholders.h"

#include "absl/strings/str_cat.h"

namespace rein::sql::internal {

RewrittenSql RewritePlaceholders(absl::string_view sql) {
  RewrittenSql out;
  out.text.reserve(sql.size() + 8);
  size_t i = 0;
  // Copies sql[i] up to and including the end of a quoted run that opened with `quote` at
  // sql[i]; a doubled quote inside is an escaped one. An unterminated run copies to the end
  // (the server then reports the syntax error).
  auto copy_quoted = [&](char quote) {
    size_t j = i + 1;
    while (j < sql.size()) {
      if (sql[j] == quote) {
        if (j + 1 < sql.size() && sql[j + 1] == quote) {
          j += 2;
          continue;
        }
        ++j;
        break;
      }
      ++j;
    }
    absl::StrAppend(&out.text, sql.substr(i, j - i));
    i = j;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      copy_quoted(c);
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      end = end == absl::string_view::npos ? sql.size() : end;
      absl::StrAppend(&out.text, sql.substr(i, end - i));
      i = end;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      end = end == absl::string_view::npos ? sql.size() : end + 2;
      absl::StrAppend(&out.text, sql.substr(i, end - i));
      i = end;
    } else if (c == '?') {
      absl::StrAppend(&out.text, "$", ++out.placeholders);
      ++i;
    } else {
      out.text.push_back(c);
      ++i;
    }
  }
  return out;
}

}  // namespace rein::sql::internal
