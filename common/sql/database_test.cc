// One conformance suite for both backends: every case runs once on SQLite and once on a real
// PostgreSQL server (started once per test binary). Where PostgreSQL cannot start here, its
// half says why (a Catch2 warning) and passes.
#include "common/sql/database.h"

#include <stdlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/testing/postgres_server.h"

namespace rein::sql {
namespace {

enum class Backend { kSqlite, kPostgres };

const char* Name(Backend backend) { return backend == Backend::kSqlite ? "sqlite" : "postgres"; }

// The PostgreSQL server shared by this binary's test cases; stopped at exit.
const absl::StatusOr<std::unique_ptr<testing::PostgresServer>>& Server() {
  static const absl::StatusOr<std::unique_ptr<testing::PostgresServer>> server =
      testing::PostgresServer::Start();
  return server;
}

// A fresh, empty database of one backend, and how to open a second Database on the same store.
class TestDb {
 public:
  // nullptr, after a warning that says why, when the backend cannot run here.
  static std::unique_ptr<TestDb> Create(Backend backend) {
    auto test_db = std::unique_ptr<TestDb>(new TestDb());
    if (backend == Backend::kSqlite) {
      const char* tmp = getenv("TMPDIR");
      std::string pattern = absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/rein_sql_XXXXXX");
      REQUIRE(mkdtemp(pattern.data()) != nullptr);
      test_db->scratch_ = pattern;
      test_db->url_ = absl::StrCat("sqlite://", pattern, "/test.db");
    } else {
      const auto& server = Server();
      if (!server.ok()) {
        WARN("PostgreSQL half skipped: " << server.status().ToString());
        return nullptr;
      }
      static std::atomic<int> next{0};
      absl::StatusOr<std::string> conninfo = (*server)->CreateDatabase(absl::StrCat("t", next++));
      REQUIRE(conninfo.status().ToString() == "OK");
      test_db->url_ = *conninfo;
    }
    test_db->db_ = test_db->Open();
    return test_db;
  }

  ~TestDb() {
    db_.reset();
    if (!scratch_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_, ignored);
    }
  }

  Database& db() { return *db_; }

  // Another Database on the same file or server database.
  std::unique_ptr<Database> Open() {
    absl::StatusOr<std::unique_ptr<Database>> db =
        absl::StartsWith(url_, "sqlite:") ? OpenByUrl(url_) : OpenPostgres({.conninfo = url_});
    REQUIRE(db.status().ToString() == "OK");
    return *std::move(db);
  }

 private:
  TestDb() = default;
  std::string scratch_;
  std::string url_;
  std::unique_ptr<Database> db_;
};

// Runs `body` once per backend, each in its own Catch2 section with a fresh database.
void ForEachBackend(const std::function<void(TestDb&)>& body) {
  for (Backend backend : {Backend::kSqlite, Backend::kPostgres}) {
    DYNAMIC_SECTION(Name(backend)) {
      std::unique_ptr<TestDb> test_db = TestDb::Create(backend);
      if (test_db != nullptr) body(*test_db);
    }
  }
}

absl::StatusOr<std::vector<Row>> ReadRows(Database& db, absl::string_view sql,
                                          const std::vector<Value>& params = {}) {
  std::vector<Row> rows;
  RETURN_IF_ERROR(db.Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(rows, c.Query(sql, params));
    return absl::OkStatus();
  }));
  return rows;
}

absl::Status ExecOne(Database& db, absl::string_view sql, const std::vector<Value>& params) {
  return db.Write([&](Connection& c) { return c.Exec(sql, params).status(); });
}

int64_t CountRows(Database& db, absl::string_view table) {
  absl::StatusOr<std::vector<Row>> rows =
      ReadRows(db, absl::StrCat("SELECT COUNT(*) FROM ", table));
  REQUIRE(rows.status().ToString() == "OK");
  return (*rows)[0].Int(0);
}

constexpr absl::string_view kSchema = R"sql(
CREATE TABLE parent (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE child (
  id BIGINT PRIMARY KEY,
  parent_id BIGINT NOT NULL REFERENCES parent (id),
  score DOUBLE PRECISION CHECK (score >= 0)
);
CREATE TABLE v (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, t TEXT);
CREATE TABLE c (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);
)sql";

TEST_CASE("every value type round-trips, NULL included") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    struct Sample {
      Value i, d, t;
    };
    const std::vector<Sample> samples = {
        {std::numeric_limits<int64_t>::max(), 0.1, std::string("héllo ✓ 日本語 🎉")},
        {std::numeric_limits<int64_t>::min(), 1e308, std::string("a ? and 'quotes' and \"\" ''")},
        {int64_t{0}, 5e-324, std::string()},
        {std::monostate(), std::monostate(), std::monostate()},
        {int64_t{-1}, 1.0 / 3.0, std::string("?")},
        {int64_t{42}, -std::numeric_limits<double>::infinity(), std::string("x")},
    };
    REQUIRE(t.db()
                .Write([&](Connection& c) -> absl::Status {
                  for (size_t k = 0; k < samples.size(); ++k) {
                    ASSIGN_OR_RETURN(int64_t n,
                                     c.Exec("INSERT INTO v (id, i, d, t) VALUES (?, ?, ?, ?)",
                                            {static_cast<int64_t>(k), samples[k].i, samples[k].d,
                                             samples[k].t}));
                    if (n != 1) return absl::InternalError("insert changed no row");
                  }
                  return absl::OkStatus();
                })
                .ok());
    absl::StatusOr<std::vector<Row>> rows = ReadRows(t.db(), "SELECT i, d, t FROM v ORDER BY id");
    REQUIRE(rows.status().ToString() == "OK");
    REQUIRE(rows->size() == samples.size());
    for (size_t k = 0; k < samples.size(); ++k) {
      INFO("row " << k);
      const Row& row = (*rows)[k];
      REQUIRE(row.size() == 3);
      const Sample& s = samples[k];
      CHECK(row.IsNull(0) == std::holds_alternative<std::monostate>(s.i));
      CHECK(row.IsNull(1) == std::holds_alternative<std::monostate>(s.d));
      CHECK(row.IsNull(2) == std::holds_alternative<std::monostate>(s.t));
      if (const auto* i = std::get_if<int64_t>(&s.i)) CHECK(row.Int(0) == *i);
      if (const auto* d = std::get_if<double>(&s.d)) CHECK(row.Double(1) == *d);  // Exactly.
      if (const auto* text = std::get_if<std::string>(&s.t)) CHECK(row.Text(2) == *text);
    }
    // A NULL reads as zero / empty through the typed accessors.
    CHECK((*rows)[3].Int(0) == 0);
    CHECK((*rows)[3].Double(1) == 0.0);
    CHECK((*rows)[3].Text(2).empty());
  });
}

TEST_CASE("a ? inside a quoted literal is not a placeholder") {
  ForEachBackend([](TestDb& t) {
    absl::StatusOr<std::vector<Row>> rows =
        ReadRows(t.db(), "SELECT '?', CAST(? AS BIGINT), 'it''s ?', CAST(? AS TEXT)",
                 {int64_t{7}, std::string("?'")});
    REQUIRE(rows.status().ToString() == "OK");
    REQUIRE(rows->size() == 1);
    CHECK((*rows)[0].Text(0) == "?");
    CHECK((*rows)[0].Int(1) == 7);
    CHECK((*rows)[0].Text(2) == "it's ?");
    CHECK((*rows)[0].Text(3) == "?'");
  });
}

TEST_CASE("a parameter count that does not match the placeholders is INVALID_ARGUMENT") {
  ForEachBackend([](TestDb& t) {
    absl::Status status =
        t.db().Read([](Connection& c) { return c.Query("SELECT CAST(? AS BIGINT)", {}).status(); });
    CHECK(absl::IsInvalidArgument(status));
  });
}

TEST_CASE("RETURNING gives back the written rows") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    std::vector<Row> inserted, updated;
    REQUIRE(t.db()
                .Write([&](Connection& c) -> absl::Status {
                  ASSIGN_OR_RETURN(inserted,
                                   c.Query("INSERT INTO c (id, n) VALUES (?, ?), (?, ?) "
                                           "RETURNING id, n",
                                           {int64_t{1}, int64_t{10}, int64_t{2}, int64_t{20}}));
                  ASSIGN_OR_RETURN(
                      updated,
                      c.Query("UPDATE c SET n = n + 1 WHERE id = ? RETURNING n", {int64_t{2}}));
                  return absl::OkStatus();
                })
                .ok());
    REQUIRE(inserted.size() == 2);
    CHECK(inserted[0].Int(0) + inserted[1].Int(0) == 3);
    REQUIRE(updated.size() == 1);
    CHECK(updated[0].Int(0) == 21);
  });
}

TEST_CASE("a failing callback leaves nothing behind") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    absl::Status status = t.db().Write([](Connection& c) -> absl::Status {
      RETURN_IF_ERROR(c.Exec("INSERT INTO c (id, n) VALUES (1, 1)", {}).status());
      return absl::NotFoundError("changed my mind");
    });
    CHECK(absl::IsNotFound(status));
    CHECK(CountRows(t.db(), "c") == 0);
  });
}

TEST_CASE("constraint violations map to ALREADY_EXISTS and FAILED_PRECONDITION") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    REQUIRE(ExecOne(t.db(), "INSERT INTO parent (id, name) VALUES (?, ?)",
                    {int64_t{1}, std::string("a")})
                .ok());
    const std::string backend = t.db().dialect() == Dialect::kSqlite ? "sqlite" : "postgres";

    absl::Status duplicate_key = ExecOne(t.db(), "INSERT INTO parent (id, name) VALUES (?, ?)",
                                         {int64_t{1}, std::string("b")});
    CHECK(absl::IsAlreadyExists(duplicate_key));
    CHECK(absl::StartsWith(duplicate_key.message(), backend));
    CHECK(absl::IsAlreadyExists(ExecOne(t.db(), "INSERT INTO parent (id, name) VALUES (?, ?)",
                                        {int64_t{2}, std::string("a")})));
    absl::Status missing_parent =
        ExecOne(t.db(), "INSERT INTO child (id, parent_id, score) VALUES (?, ?, ?)",
                {int64_t{1}, int64_t{99}, 1.0});
    CHECK(absl::IsFailedPrecondition(missing_parent));
    CHECK(absl::IsFailedPrecondition(
        ExecOne(t.db(), "INSERT INTO child (id, parent_id, score) VALUES (?, ?, ?)",
                {int64_t{1}, int64_t{1}, -1.0})));
    CHECK(absl::IsFailedPrecondition(ExecOne(t.db(), "INSERT INTO parent (id, name) VALUES (?, ?)",
                                             {int64_t{3}, std::monostate()})));
    CHECK(CountRows(t.db(), "parent") == 1);
    CHECK(CountRows(t.db(), "child") == 0);
  });
}

TEST_CASE("bad SQL is INTERNAL with the backend's message, not a crash") {
  ForEachBackend([](TestDb& t) {
    absl::Status syntax =
        t.db().Read([](Connection& c) { return c.Query("SELEC 1", {}).status(); });
    CHECK(absl::IsInternal(syntax));
    CHECK(absl::StrContains(syntax.message(), "syntax"));
    CHECK(absl::StrContains(syntax.message(), "SELEC 1"));
    absl::Status missing = ExecOne(t.db(), "UPDATE no_such_table SET x = 1", {});
    CHECK(absl::IsInternal(missing));
    CHECK(absl::StrContains(missing.message(), "no_such_table"));
  });
}

TEST_CASE("writes inside Read fail") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    absl::Status status = t.db().Read(
        [](Connection& c) { return c.Exec("INSERT INTO c (id, n) VALUES (1, 1)", {}).status(); });
    CHECK_FALSE(status.ok());
    CHECK(CountRows(t.db(), "c") == 0);
  });
}

TEST_CASE("a statement error the callback ignores never commits half a transaction silently") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    REQUIRE(ExecOne(t.db(), "INSERT INTO c (id, n) VALUES (1, 1)", {}).ok());
    absl::Status status = t.db().Write([](Connection& c) -> absl::Status {
      CHECK(absl::IsAlreadyExists(c.Exec("INSERT INTO c (id, n) VALUES (1, 1)", {}).status()));
      return c.Exec("INSERT INTO c (id, n) VALUES (2, 2)", {}).status();
    });
    if (t.db().dialect() == Dialect::kSqlite) {
      // SQLite undoes just the failed statement; the rest of the transaction stands.
      CHECK(status.ok());
      CHECK(CountRows(t.db(), "c") == 2);
    } else {
      // PostgreSQL aborts the whole transaction; Write must not report OK for it.
      CHECK_FALSE(status.ok());
      CHECK(CountRows(t.db(), "c") == 1);
    }
  });
}

TEST_CASE("concurrent conditional claims neither lose updates nor over-claim") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    REQUIRE(ExecOne(t.db(), "INSERT INTO c (id, n) VALUES (1, 0)", {}).ok());
    constexpr int kThreads = 16, kTries = 200, kLimit = 1000;
    std::atomic<int> claimed{0}, failed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        for (int k = 0; k < kTries; ++k) {
          int64_t changed = 0;
          absl::Status status = t.db().Write([&](Connection& c) -> absl::Status {
            ASSIGN_OR_RETURN(changed, c.Exec("UPDATE c SET n = n + 1 WHERE id = 1 AND n < ?",
                                             {int64_t{kLimit}}));
            return absl::OkStatus();
          });
          if (!status.ok()) ++failed;
          if (status.ok() && changed == 1) ++claimed;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    CHECK(failed.load() == 0);
    CHECK(claimed.load() == kLimit);
    absl::StatusOr<std::vector<Row>> rows = ReadRows(t.db(), "SELECT n FROM c WHERE id = 1");
    REQUIRE(rows.ok());
    CHECK((*rows)[0].Int(0) == kLimit);
  });
}

TEST_CASE("64 concurrent writers all commit and each failure stays its own") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    constexpr int kWriters = 64, kRounds = 5;
    // Per writer, its last status: index by writer, written only by that writer's thread.
    std::vector<absl::Status> results(kWriters * kRounds);
    for (int round = 0; round < kRounds; ++round) {
      std::vector<std::thread> threads;
      for (int w = 0; w < kWriters; ++w) {
        threads.emplace_back([&, w, round] {
          const int64_t id = round * kWriters + w;
          results[static_cast<size_t>(id)] = t.db().Write([&](Connection& c) -> absl::Status {
            RETURN_IF_ERROR(
                c.Exec("INSERT INTO c (id, n) VALUES (?, ?)", {id, int64_t{w}}).status());
            if (w % 4 == 3) return absl::CancelledError("undo mine");  // Its row must vanish.
            if (w % 4 == 2) {
              // All of these race for one row; exactly one per round wins.
              RETURN_IF_ERROR(
                  c.Exec("INSERT INTO v (id, i) VALUES (?, 0)", {int64_t{round}}).status());
            }
            return absl::OkStatus();
          });
        });
      }
      for (std::thread& thread : threads) thread.join();
    }
    int winners_per_round[kRounds] = {};
    for (int round = 0; round < kRounds; ++round) {
      for (int w = 0; w < kWriters; ++w) {
        const absl::Status& status = results[static_cast<size_t>(round * kWriters + w)];
        INFO("round " << round << " writer " << w << ": " << status.ToString());
        if (w % 4 == 3) {
          CHECK(absl::IsCancelled(status));
        } else if (w % 4 == 2) {
          CHECK((status.ok() || absl::IsAlreadyExists(status)));
          if (status.ok()) ++winners_per_round[round];
        } else {
          CHECK(status.ok());
        }
      }
      CHECK(winners_per_round[round] == 1);
    }
    // Rows of writers 0 and 1 (mod 4) and of each round's one winner.
    CHECK(CountRows(t.db(), "c") == kRounds * (kWriters / 2 + 1));
    CHECK(CountRows(t.db(), "v") == kRounds);
  });
}

TEST_CASE("what Write committed is there for a Database opened afterwards") {
  ForEachBackend([](TestDb& t) {
    REQUIRE(t.db().ExecScript(kSchema).ok());
    REQUIRE(ExecOne(t.db(), "INSERT INTO c (id, n) VALUES (?, ?)", {int64_t{1}, int64_t{5}}).ok());
    std::unique_ptr<Database> second = t.Open();
    absl::StatusOr<std::vector<Row>> rows = ReadRows(*second, "SELECT n FROM c WHERE id = 1");
    REQUIRE(rows.status().ToString() == "OK");
    REQUIRE(rows->size() == 1);
    CHECK((*rows)[0].Int(0) == 5);
    // And the other way round, while both are open.
    REQUIRE(ExecOne(*second, "UPDATE c SET n = 6 WHERE id = 1", {}).ok());
    rows = ReadRows(t.db(), "SELECT n FROM c WHERE id = 1");
    REQUIRE(rows.ok());
    CHECK((*rows)[0].Int(0) == 6);
  });
}

TEST_CASE("two SQLite Databases on one file take turns at the write lock") {
  std::unique_ptr<TestDb> t = TestDb::Create(Backend::kSqlite);
  REQUIRE(t->db().ExecScript(kSchema).ok());
  REQUIRE(ExecOne(t->db(), "INSERT INTO c (id, n) VALUES (1, 0)", {}).ok());
  std::unique_ptr<Database> other = t->Open();  // Another writer, as a second process has.
  constexpr int kThreadsEach = 4, kWrites = 100;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (Database* db : {&t->db(), other.get()}) {
    for (int i = 0; i < kThreadsEach; ++i) {
      threads.emplace_back([&, db] {
        for (int k = 0; k < kWrites; ++k) {
          if (!ExecOne(*db, "UPDATE c SET n = n + 1 WHERE id = 1", {}).ok()) ++failed;
        }
      });
    }
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failed.load() == 0);
  absl::StatusOr<std::vector<Row>> rows = ReadRows(*other, "SELECT n FROM c WHERE id = 1");
  REQUIRE(rows.ok());
  CHECK((*rows)[0].Int(0) == 2 * kThreadsEach * kWrites);
}

TEST_CASE("PostgreSQL pooled connections that the server dropped are reconnected") {
  std::unique_ptr<TestDb> t = TestDb::Create(Backend::kPostgres);
  if (t == nullptr) return;  // The warning says why.
  REQUIRE(t->db().ExecScript(kSchema).ok());
  std::unique_ptr<Database> admin = t->Open();
  // Ends every session of this database but the admin's own (as a server restart would).
  REQUIRE(admin
              ->Write([](Connection& c) {
                return c
                    .Query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
                        {})
                    .status();
              })
              .ok());
  // More writes than pooled connections, so that every dropped one is used again.
  for (int64_t id = 1; id <= 12; ++id) {
    absl::Status status = ExecOne(t->db(), "INSERT INTO c (id, n) VALUES (?, 0)", {id});
    INFO(status.ToString());
    CHECK(status.ok());
  }
  CHECK(CountRows(*admin, "c") == 12);
}

TEST_CASE("OpenByUrl knows sqlite and postgresql URLs only") {
  CHECK(absl::IsInvalidArgument(OpenByUrl("mysql://x").status()));
  CHECK(absl::IsInvalidArgument(OpenByUrl("sqlite://host/x.db").status()));
  CHECK(absl::IsInvalidArgument(OpenByUrl("sqlite:").status()));
  CHECK(absl::IsInvalidArgument(OpenSqlite({.path = ":memory:"}).status()));
}

TEST_CASE("OpenPostgres says UNAVAILABLE when no server answers in time") {
  absl::StatusOr<std::unique_ptr<Database>> db =
      OpenPostgres({.conninfo = "host=127.0.0.1 port=1 user=rein dbname=rein",
                    .pool_size = 1,
                    .connect_timeout = absl::Milliseconds(300)});
  CHECK(absl::IsUnavailable(db.status()));
  CHECK(absl::IsInvalidArgument(OpenPostgres({.conninfo = "nonsense==="}).status()));
}

TEST_CASE("Row converts between text, integer and double cells") {
  Row row({std::string("12"), std::string("2.5"), int64_t{3}, 1.5, std::string("Infinity"),
           std::monostate()});
  CHECK(row.Int(0) == 12);
  CHECK(row.Double(1) == 2.5);
  CHECK(row.Double(2) == 3.0);
  CHECK(row.Text(2) == "3");
  CHECK(row.Int(3) == 1);
  CHECK(row.Text(3) == "1.5");
  CHECK(std::isinf(row.Double(4)));
  CHECK(row.IsNull(5));
  CHECK(row.Text(5).empty());
}

}  // namespace
}  // namespace rein::sql
