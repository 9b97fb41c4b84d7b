#include "common/sql/internal/placeholders.h"

#include <catch2/catch.hpp>

namespace rein::sql::internal {
namespace {

TEST_CASE("placeholders become $n in order") {
  RewrittenSql r = RewritePlaceholders("SELECT a FROM t WHERE x = ? AND y IN (?, ?)");
  CHECK(r.text == "SELECT a FROM t WHERE x = $1 AND y IN ($2, $3)");
  CHECK(r.placeholders == 3);
}

TEST_CASE("a ? inside quotes or comments is not a placeholder") {
  RewrittenSql r = RewritePlaceholders("SELECT '?', 'it''s ?', \"odd?\" , ? -- why?\n, /* ? */ ?");
  CHECK(r.text == "SELECT '?', 'it''s ?', \"odd?\" , $1 -- why?\n, /* ? */ $2");
  CHECK(r.placeholders == 2);
}

TEST_CASE("an unterminated literal is copied as is") {
  RewrittenSql r = RewritePlaceholders("SELECT ?, 'open ?");
  CHECK(r.text == "SELECT $1, 'open ?");
  CHECK(r.placeholders == 1);
}

TEST_CASE("ten or more placeholders get two-digit numbers") {
  RewrittenSql r = RewritePlaceholders("?,?,?,?,?,?,?,?,?,?,?");
  CHECK(r.text == "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11");
}

}  // namespace
}  // namespace rein::sql::internal
