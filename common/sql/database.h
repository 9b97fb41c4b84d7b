// One persistence layer behind one interface: a SQL database with parameterised statements and
// transactions, implemented on SQLite (embedded, one file) and PostgreSQL (libpq, shared by
// several server replicas). Callers write portable SQL once:
//
//   ASSIGN_OR_RETURN(std::unique_ptr<sql::Database> db, sql::OpenSqlite({.path = "f.db"}));
//   RETURN_IF_ERROR(db->Write([&](sql::Connection& c) -> absl::Status {
//     ASSIGN_OR_RETURN(int64_t n, c.Exec("UPDATE t SET x = ? WHERE id = ?", {int64_t{1}, id}));
//     return n == 1 ? absl::OkStatus() : absl::NotFoundError("no such row");
//   }));
//
// Portable SQL rules every caller follows:
//   - placeholders are `?`, bound in order (the PostgreSQL backend rewrites them to $1, $2, ...;
//     a `?` inside a quoted literal is not a placeholder). Values are never spliced into SQL.
//   - types: TEXT, BIGINT (integers, booleans as 0/1, times as unix microseconds),
//     DOUBLE PRECISION; no BLOB, no SERIAL/AUTOINCREMENT (ids are made by the caller).
//   - RETURNING, ON CONFLICT DO NOTHING, partial unique indexes and CTEs work on both.
//   - `Dialect()` lets a caller add a backend-only clause (e.g. PostgreSQL's FOR UPDATE SKIP
//     LOCKED) where correctness does not depend on it.
//
// Errors: every backend maps its own error codes to Status in exactly one function:
//   unique / primary-key / foreign-key / check violation -> ALREADY_EXISTS (unique, primary key)
//                                                          or FAILED_PRECONDITION (foreign key,
//                                                          check, not null)
//   serialization failure, deadlock, SQLITE_BUSY          -> ABORTED (Write/Read retry these)
//   connection lost, server unreachable                   -> UNAVAILABLE
//   bad SQL, type errors, anything else                   -> INTERNAL
// and the message names the backend and carries the server's text.
//
// Durability: when Write returns OK the transaction is on disk (SQLite: WAL with
// synchronous=FULL; PostgreSQL: synchronous_commit as the server has it, on by default), so a
// kill -9 of this process right after loses nothing.
//
// Statement errors inside a transaction: SQLite undoes only the failing statement and the
// callback may carry on; PostgreSQL aborts the whole transaction. Portable callers return the
// error (or avoid it with ON CONFLICT DO NOTHING). If a callback swallows a PostgreSQL error
// and returns OK, nothing is committed and Write returns INTERNAL rather than OK.
//
// Thread safety: a Database is safe to use from any number of threads. A Connection is handed
// to exactly one callback at a time and must not escape it. A callback must not call Write or
// Read on its own Database (the writer or the pool it waits for may be the one it holds).
#ifndef REIN_COMMON_SQL_DATABASE_H_
#define REIN_COMMON_SQL_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rein::sql {

enum class Dialect { kSqlite, kPostgres };

// A bound parameter or a result cell. NULL is std::monostate.
using Value = std::variant<std::monostate, int64_t, double, std::string>;

// One result row; cells in the order of the SELECT / RETURNING list.
class Row {
 public:
  explicit Row(std::vector<Value> cells) : cells_(std::move(cells)) {}
  size_t size() const { return cells_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(cells_.at(i)); }
  // Typed access. A NULL reads as 0 / 0.0 / "". An integer column read as Double converts; a
  // TEXT column read as Int parses (PostgreSQL returns every cell as text).
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  std::string Text(size_t i) const;
  const Value& cell(size_t i) const { return cells_.at(i); }

 private:
  std::vector<Value> cells_;
};

// A connection inside a transaction the Database opened. Not thread safe.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement and returns its rows (SELECT, or anything with RETURNING).
  // INVALID_ARGUMENT when `params` does not match the `?` count or `sql` holds more than one
  // statement.
  virtual absl::StatusOr<std::vector<Row>> Query(absl::string_view sql,
                                                 const std::vector<Value>& params) = 0;
  // Runs one statement and returns the number of rows it changed.
  virtual absl::StatusOr<int64_t> Exec(absl::string_view sql, const std::vector<Value>& params) = 0;
};

using TransactionFn = std::function<absl::Status(Connection&)>;

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;

  // Runs `fn` in a read-write transaction and commits it when `fn` returns OK; any error rolls
  // the transaction back (and nothing of it is visible) and is returned. ABORTED from the
  // backend (contention) re-runs `fn` in a fresh transaction, a bounded number of times, so
  // `fn` must have no effects outside the connection. The SQLite backend may commit the
  // transactions of several concurrent callers together (group commit); each caller's `fn` is
  // still atomic on its own and sees the others' effects as committed before it.
  virtual absl::Status Write(const TransactionFn& fn) = 0;

  // Runs `fn` in a read-only snapshot (SQLite: a WAL read transaction; PostgreSQL: REPEATABLE
  // READ, READ ONLY). Writes inside it fail.
  virtual absl::Status Read(const TransactionFn& fn) = 0;

  // Runs a script of several statements without parameters, outside any caller transaction
  // (schema migrations). Each statement separated by ';' at the end of a line. PostgreSQL runs
  // the script as one implicit transaction; SQLite commits statement by statement, so a script
  // that must be atomic there says BEGIN; ... COMMIT; itself.
  virtual absl::Status ExecScript(absl::string_view script) = 0;
};

struct SqliteOptions {
  // The database file; created if missing (its folder must exist). ":memory:" is refused:
  // readers and the writer need to share one file.
  std::string path;
  // Reader connections (WAL readers run beside the one writer).
  int readers = 8;
  // How long a statement waits on a lock held by another process before ABORTED.
  absl::Duration busy_timeout = absl::Seconds(5);
  // Most transactions one group commit takes at once.
  int max_group = 256;
};

// Opens (or creates) a SQLite database in WAL mode with foreign keys on and synchronous=FULL.
absl::StatusOr<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& options);

struct PostgresOptions {
  // A libpq connection string ("host=127.0.0.1 port=5432 dbname=rein user=rein") or URI. A
  // password, if any, comes from PGPASSFILE / ~/.pgpass, never from the config.
  std::string conninfo;
  // Pooled connections; each Write/Read holds one for its duration.
  int pool_size = 32;
  // How long Open waits for the server to accept a first connection.
  absl::Duration connect_timeout = absl::Seconds(10);
};

// Connects to PostgreSQL. UNAVAILABLE when the server cannot be reached in time.
absl::StatusOr<std::unique_ptr<Database>> OpenPostgres(const PostgresOptions& options);

// Opens by URL: "sqlite:///abs/path.db", "sqlite:relative.db" or "postgresql://..." /
// "postgres://..." (passed to libpq as is). INVALID_ARGUMENT for any other scheme.
absl::StatusOr<std::unique_ptr<Database>> OpenByUrl(absl::string_view url);

}  // namespace rein::sql

#endif  // REIN_COMMON_SQL_DATABASE_H_
