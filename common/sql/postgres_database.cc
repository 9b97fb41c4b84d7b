// The PostgreSQL backend: a fixed pool of libpq connections; each Write/Read holds one for its
// transaction. Parameters travel as text with their types named for numbers (so that `? + 1`
// with a large int64 is BIGINT arithmetic), results come back as text and Row converts them.
// Each connection prepares a statement the first time it runs it and then only binds and
// executes it: parsing and planning on every call cost the server about as much CPU as
// running the statements of a judgement.
#include <libpq-fe.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/sql/database.h"
#include "common/sql/internal/placeholders.h"
#include "common/sql/internal/transaction.h"
#include "common/status/status_macros.h"

namespace rein::sql {
namespace {

using internal::CallTransactionFn;
using internal::kMaxAttempts;

// Type OIDs from pg_type.h (which libpq-dev does not install under the include path).
constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;

// Rewritten statements kept; a caller building SQL text on the fly must not grow it forever.
constexpr size_t kRewriteCacheSize = 1024;

// Server-side prepared statements one connection keeps; past this, new statement texts run
// unprepared (PQexecParams) rather than grow the server's memory without bound.
constexpr size_t kPreparedPerConnection = 256;

// SQLSTATE for "connection failure", used when libpq reports a lost connection without one.
constexpr absl::string_view kConnectionFailure = "08006";

// The one place PostgreSQL errors become Status (see database.h for the mapping).
absl::Status PostgresStatus(absl::string_view sqlstate, absl::string_view message,
                            absl::string_view sql) {
  std::string text = absl::StrCat("postgres: ", absl::StripTrailingAsciiWhitespace(message));
  if (!sqlstate.empty()) absl::StrAppend(&text, " (SQLSTATE ", sqlstate, ")");
  if (!sql.empty()) absl::StrAppend(&text, " in: ", sql.substr(0, internal::kSqlInMessage));
  if (sqlstate == "23505") return absl::AlreadyExistsError(text);
  if (sqlstate == "23503" || sqlstate == "23514" || sqlstate == "23502") {
    return absl::FailedPreconditionError(text);
  }
  if (sqlstate == "40001" || sqlstate == "40P01") return absl::AbortedError(text);
  if (absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "57P0")) {
    return absl::UnavailableError(text);
  }
  return absl::InternalError(text);
}

// Doubles print with 17 significant digits, enough to come back as the same double.
std::string DoubleText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return absl::StrFormat("%.17g", v);
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// `?` → `$n` rewrites by SQL text, shared by the pool's connections.
class RewriteCache {
 public:
  internal::RewrittenSql Get(absl::string_view sql) {
    const std::string key(sql);
    {
      absl::MutexLock lock(&mu_);
      if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    }
    internal::RewrittenSql rewritten = internal::RewritePlaceholders(sql);
    absl::MutexLock lock(&mu_);
    if (cache_.size() >= kRewriteCacheSize) cache_.clear();
    cache_.emplace(key, rewritten);
    return rewritten;
  }

 private:
  absl::Mutex mu_;
  std::unordered_map<std::string, internal::RewrittenSql> cache_ ABSL_GUARDED_BY(mu_);
};

// One libpq connection. Not thread safe: the pool lends it to one transaction at a time.
class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* conn, RewriteCache* rewrites) : conn_(conn), rewrites_(rewrites) {}
  ~PgConnection() override { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }

  absl::StatusOr<std::vector<Row>> Query(absl::string_view sql,
                                         const std::vector<Value>& params) override {
    ASSIGN_OR_RETURN(Result result, Execute(sql, params));
    std::vector<Row> rows;
    const int n_rows = PQntuples(result.get());
    const int n_fields = PQnfields(result.get());
    rows.reserve(static_cast<size_t>(n_rows));
    for (int r = 0; r < n_rows; ++r) {
      std::vector<Value> cells;
      cells.reserve(static_cast<size_t>(n_fields));
      for (int f = 0; f < n_fields; ++f) {
        if (PQgetisnull(result.get(), r, f)) {
          cells.emplace_back(std::monostate());
        } else {
          cells.emplace_back(std::string(PQgetvalue(result.get(), r, f),
                                         static_cast<size_t>(PQgetlength(result.get(), r, f))));
        }
      }
      rows.emplace_back(std::move(cells));
    }
    return rows;
  }

  absl::StatusOr<int64_t> Exec(absl::string_view sql, const std::vector<Value>& params) override {
    ASSIGN_OR_RETURN(Result result, Execute(sql, params));
    int64_t changed = 0;  // PQcmdTuples is "" for statements that change no rows (DDL).
    return absl::SimpleAtoi(PQcmdTuples(result.get()), &changed) ? changed : 0;
  }

  // A statement without parameters (transaction control), run unprepared; returns its result
  // for the command tag.
  absl::StatusOr<Result> Run(absl::string_view sql) { return Execute(sql, {}, /*prepare=*/false); }

  // Several statements in one PQexec (ExecScript); the server runs them in one transaction
  // unless the script has its own BEGIN/COMMIT.
  absl::Status RunScript(absl::string_view script) {
    const std::string text(script);
    return Check(Result(PQexec(conn_, text.c_str())), script).status();
  }

  // Makes a usable connection out of this one before a transaction: reconnects a broken one
  // and rolls back anything a failed earlier transaction left open.
  absl::Status Ready() {
    if (PQstatus(conn_) == CONNECTION_BAD) Reconnect();
    if (PQstatus(conn_) == CONNECTION_BAD) {
      return PostgresStatus(kConnectionFailure,
                            absl::StrCat("reconnect failed: ", PQerrorMessage(conn_)), "");
    }
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      if (!Run("ROLLBACK").ok()) {
        Reconnect();
        if (PQstatus(conn_) == CONNECTION_BAD) {
          return PostgresStatus(kConnectionFailure, PQerrorMessage(conn_), "");
        }
      }
    }
    return absl::OkStatus();
  }

  // Reconnects now; true when that worked.
  bool Reset() {
    Reconnect();
    return PQstatus(conn_) == CONNECTION_OK;
  }

 private:
  // A new server session has none of the old one's prepared statements.
  void Reconnect() {
    PQreset(conn_);
    prepared_.clear();
  }

  // The name of this connection's prepared statement for `text` with these parameter types,
  // preparing it on first use (one extra round trip, once); nullptr when the connection keeps
  // kPreparedPerConnection already and `text` is not among them. A statement that fails to
  // prepare fails as it would have run (and aborts the transaction alike). Prepared statements
  // are not transactional, so one prepared inside a transaction that rolls back stays usable.
  absl::StatusOr<const std::string*> Prepared(const std::string& text,
                                              const std::vector<Oid>& types,
                                              absl::string_view sql) {
    std::string key = text;
    key.push_back('\0');  // The types are part of the statement: NULL and int64 infer apart.
    for (Oid type : types) key.push_back(type == kInt8Oid ? 'i' : type == kFloat8Oid ? 'd' : '?');
    if (auto it = prepared_.find(key); it != prepared_.end()) return &it->second;
    if (prepared_.size() >= kPreparedPerConnection) return nullptr;
    std::string name = absl::StrCat("rein_", next_statement_++);  // Never reused.
    RETURN_IF_ERROR(Check(Result(PQprepare(conn_, name.c_str(), text.c_str(),
                                           static_cast<int>(types.size()), types.data())),
                          sql)
                        .status());
    return &prepared_.emplace(std::move(key), std::move(name)).first->second;
  }

  absl::StatusOr<Result> Execute(absl::string_view sql, const std::vector<Value>& params,
                                 bool prepare = true) {
    const internal::RewrittenSql rewritten = rewrites_->Get(sql);
    if (static_cast<size_t>(rewritten.placeholders) != params.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("postgres: statement has ", rewritten.placeholders, " placeholders but ",
                       params.size(), " parameters: ", sql.substr(0, internal::kSqlInMessage)));
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<Oid> types(params.size(), 0);  // 0: the server infers the type.
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& value = params[i];
      if (const auto* v = std::get_if<int64_t>(&value)) {
        texts[i] = absl::StrCat(*v);
        types[i] = kInt8Oid;
      } else if (const auto* d = std::get_if<double>(&value)) {
        texts[i] = DoubleText(*d);
        types[i] = kFloat8Oid;
      } else if (const auto* s = std::get_if<std::string>(&value)) {
        values[i] = s->c_str();
        continue;
      } else {
        continue;  // NULL: a null pointer.
      }
      values[i] = texts[i].c_str();
    }
    const std::string* name = nullptr;
    if (prepare) {
      ASSIGN_OR_RETURN(name, Prepared(rewritten.text, types, sql));
    }
    if (name != nullptr) {
      return Check(Result(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                         values.data(), nullptr, nullptr,
                                         /*resultFormat=text*/ 0)),
                   sql);
    }
    return Check(Result(PQexecParams(conn_, rewritten.text.c_str(), static_cast<int>(params.size()),
                                     types.data(), values.data(), nullptr, nullptr,
                                     /*resultFormat=text*/ 0)),
                 sql);
  }

  absl::StatusOr<Result> Check(Result result, absl::string_view sql) {
    if (result != nullptr) {
      switch (PQresultStatus(result.get())) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
          return result;
        default:
          break;
      }
    }
    const char* field =
        result != nullptr ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    absl::string_view sqlstate = field != nullptr ? field : "";
    if (sqlstate.empty() && PQstatus(conn_) == CONNECTION_BAD) sqlstate = kConnectionFailure;
    const char* message =
        result != nullptr ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn_);
    return PostgresStatus(sqlstate, message, sql);
  }

  PGconn* conn_;
  RewriteCache* rewrites_;  // Owned by the Database, which outlives its connections.
  // Statement text + parameter types -> prepared statement name, on this server session.
  std::unordered_map<std::string, std::string> prepared_;
  int64_t next_statement_ = 0;
};

// Connects, retrying until `deadline` (the server may still be starting).
absl::StatusOr<PGconn*> Connect(const std::string& conninfo, absl::Time deadline) {
  char* parse_error = nullptr;
  if (PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error)) {
    PQconninfoFree(parsed);
  } else {
    std::string why = parse_error != nullptr ? parse_error : "out of memory";
    PQfreemem(parse_error);
    return absl::InvalidArgumentError(absl::StrCat("postgres: bad conninfo: ", why));
  }
  std::string last_error;
  while (true) {
    // libpq's own timeout per attempt (whole seconds, at least 2), so that one attempt cannot
    // outlast the deadline by much. The caller's conninfo comes after it and may override it.
    const int64_t seconds = std::max<int64_t>(
        2, absl::ToInt64Seconds(absl::Ceil(deadline - absl::Now(), absl::Seconds(1))));
    const std::string timeout = absl::StrCat(seconds);
    const char* keywords[] = {"connect_timeout", "client_encoding", "application_name", "dbname",
                              nullptr};
    const char* values[] = {timeout.c_str(), "UTF8", "rein", conninfo.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
    if (conn != nullptr && PQstatus(conn) == CONNECTION_OK) return conn;
    last_error = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    PQfinish(conn);
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    absl::SleepFor(std::min(left, absl::Milliseconds(100)));  // Retry pacing, not a wait.
  }
  return PostgresStatus(kConnectionFailure, absl::StrCat("cannot connect: ", last_error), "");
}

// Sleeps a little before retrying a transaction that met contention: a random part keeps
// the losers of one conflict from colliding again in step.
void Backoff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int64_t cap_us = int64_t{1000} << std::min(attempt, 6);  // 2 ms, 4 ms, ... 64 ms.
  std::uniform_int_distribution<int64_t> jitter(cap_us / 4, cap_us);
  absl::SleepFor(absl::Microseconds(jitter(random)));
}

class PostgresDatabase final : public Database {
 public:
  static absl::StatusOr<std::unique_ptr<Database>> Open(const PostgresOptions& options) {
    if (options.pool_size < 1) {
      return absl::InvalidArgumentError("postgres: pool_size must be at least 1");
    }
    auto db = std::unique_ptr<PostgresDatabase>(new PostgresDatabase());
    const absl::Time deadline = absl::Now() + options.connect_timeout;
    for (int i = 0; i < options.pool_size; ++i) {
      ASSIGN_OR_RETURN(PGconn * conn, Connect(options.conninfo, deadline));
      absl::MutexLock lock(&db->mu_);
      db->idle_.push_back(std::make_unique<PgConnection>(conn, &db->rewrites_));
    }
    REIN_LOG(INFO, "sql") << "postgres connected (" << options.pool_size << " connections)";
    return std::unique_ptr<Database>(std::move(db));
  }

  Dialect dialect() const override { return Dialect::kPostgres; }

  absl::Status Write(const TransactionFn& fn) override {
    absl::Status status;
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
      if (attempt > 1) Backoff(attempt);
      Lease lease(this);
      RETURN_IF_ERROR(lease->Ready());
      status = Transact(*lease, "BEGIN", fn);
      if (!absl::IsAborted(status)) break;
    }
    return status;
  }

  absl::Status Read(const TransactionFn& fn) override {
    absl::Status status;
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
      if (attempt > 1) Backoff(attempt);
      Lease lease(this);
      RETURN_IF_ERROR(lease->Ready());
      // REPEATABLE READ: one snapshot for the whole callback, as SQLite's readers have.
      status = Transact(*lease, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", fn);
      if (!absl::IsAborted(status)) break;
    }
    return status;
  }

  absl::Status ExecScript(absl::string_view script) override {
    Lease lease(this);
    RETURN_IF_ERROR(lease->Ready());
    return lease->RunScript(script);
  }

 private:
  // A connection borrowed from the pool for one transaction; waits for one to be free.
  class Lease {
   public:
    explicit Lease(PostgresDatabase* db) : db_(db) {
      absl::MutexLock lock(&db_->mu_);
      db_->mu_.Await(absl::Condition(db_, &PostgresDatabase::HasIdle));
      conn_ = std::move(db_->idle_.back());
      db_->idle_.pop_back();
    }
    ~Lease() {
      absl::MutexLock lock(&db_->mu_);
      db_->idle_.push_back(std::move(conn_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    PgConnection* operator->() { return conn_.get(); }
    PgConnection& operator*() { return *conn_; }

   private:
    PostgresDatabase* db_;
    std::unique_ptr<PgConnection> conn_;
  };

  PostgresDatabase() = default;

  bool HasIdle() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !idle_.empty(); }

  // BEGIN (as `begin` says) / fn / COMMIT, or ROLLBACK when fn fails.
  static absl::Status Transact(PgConnection& c, absl::string_view begin, const TransactionFn& fn) {
    absl::StatusOr<Result> begun = c.Run(begin);
    // An idle pooled connection can die unnoticed (server restart); nothing of fn has run
    // yet, so reconnecting and starting over is safe.
    if (absl::IsUnavailable(begun.status()) && c.Reset()) begun = c.Run(begin);
    RETURN_IF_ERROR(begun.status());
    absl::Status status = CallTransactionFn(fn, c);
    if (!status.ok()) {
      c.Run("ROLLBACK").status().IgnoreError();  // Ready() cleans up if this fails.
      return status;
    }
    ASSIGN_OR_RETURN(Result commit, c.Run("COMMIT"));
    // A statement error that fn ignored aborts the transaction, and COMMIT then answers
    // ROLLBACK without an error: nothing was written, so fn must not hear OK.
    if (absl::string_view(PQcmdStatus(commit.get())) == "ROLLBACK") {
      return absl::InternalError(
          "postgres: the transaction was aborted by a statement error that the callback did "
          "not return; nothing was committed");
    }
    return absl::OkStatus();
  }

  RewriteCache rewrites_;  // Before idle_: connections point into it.
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> OpenPostgres(const PostgresOptions& options) {
  return PostgresDatabase::Open(options);
}

}  // namespace rein::sql
