// The SQLite backend: one file in WAL mode, one writer connection driven by one writer thread
// that commits concurrent Writes together (group commit), and a pool of read-only reader
// connections that run beside it.
//
// Why group commit: with synchronous=FULL every COMMIT is an fsync of the WAL, and the fsync,
// not the SQL, bounds a single writer. Callers that arrive while a group is committing queue
// up; the next group takes them all (up to max_group) into one transaction and pays one fsync.
// Each caller's fn runs inside its own SAVEPOINT, so an fn that fails is undone alone and the
// group still commits the rest.
#include <sqlite3.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/log/log.h"
#include "common/sql/database.h"
#include "common/sql/internal/transaction.h"
#include "common/status/status_macros.h"

namespace rein::sql {
namespace {

using internal::CallTransactionFn;
using internal::kMaxAttempts;

// Statements kept prepared per connection. Callers run a small fixed set of statements; a
// caller that builds SQL text on the fly must not grow the cache without bound.
constexpr size_t kStatementCacheSize = 128;

// The one place SQLite result codes become Status (see database.h for the mapping).
absl::Status SqliteStatus(int extended_code, absl::string_view message, absl::string_view sql) {
  std::string text = absl::StrCat("sqlite: ", message, " (code ", extended_code, ")");
  if (!sql.empty()) absl::StrAppend(&text, " in: ", sql.substr(0, internal::kSqlInMessage));
  switch (extended_code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return absl::AlreadyExistsError(text);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return absl::FailedPreconditionError(text);
    default:
      break;
  }
  switch (extended_code & 0xff) {  // The primary code of an extended one.
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::AbortedError(text);
    default:
      return absl::InternalError(text);
  }
}

absl::Status LastError(sqlite3* db, absl::string_view sql) {
  return SqliteStatus(sqlite3_extended_errcode(db), sqlite3_errmsg(db), sql);
}

// One SQLite connection and its prepared statements. Not thread safe: the Database hands it to
// one thread at a time.
class SqliteConnection final : public Connection {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(const SqliteOptions& options,
                                                                bool read_only) {
    sqlite3* db = nullptr;
    // NOMUTEX: the Database already guarantees one user at a time per connection.
    const int flags =
        (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
        SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
    // sqlite3_open_v2 makes a handle even when it fails, to carry the message; the connection
    // owns it from here on either way.
    auto connection = std::unique_ptr<SqliteConnection>(new SqliteConnection(db));
    if (db == nullptr) return absl::ResourceExhaustedError("sqlite: out of memory opening");
    if (rc != SQLITE_OK) return LastError(db, absl::StrCat("open ", options.path));
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(
        db, static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(options.busy_timeout), 0,
                                                 int64_t{1} << 30)));
    return connection;
  }

  ~SqliteConnection() override {
    ClearStatements();
    sqlite3_close_v2(db_);
  }

  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }

  absl::StatusOr<std::vector<Row>> Query(absl::string_view sql,
                                         const std::vector<Value>& params) override {
    std::vector<Row> rows;
    RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }

  absl::StatusOr<int64_t> Exec(absl::string_view sql, const std::vector<Value>& params) override {
    RETURN_IF_ERROR(Run(sql, params, nullptr));
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  // A statement without parameters or rows: transaction control and pragmas.
  absl::Status Run(absl::string_view sql) { return Run(sql, {}, nullptr); }

  // Several statements, parameterless, with sqlite3_exec (ExecScript).
  absl::Status RunScript(absl::string_view script) {
    std::string text(script);  // sqlite3_exec wants a NUL-terminated string.
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return LastError(db_, script);
    }
    return absl::OkStatus();
  }

  // True when no transaction is open, e.g. after SQLite rolled one back on its own (it does
  // for SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM and some SQLITE_BUSY).
  bool InAutocommit() const { return sqlite3_get_autocommit(db_) != 0; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}

  void ClearStatements() {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    statements_.clear();
  }

  // The cached prepared statement for `sql`, preparing it on a miss. Every statement in the
  // cache is reset, so no cached statement is active while another one runs.
  absl::StatusOr<sqlite3_stmt*> Prepare(absl::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    if (statements_.size() >= kStatementCacheSize) ClearStatements();
    sqlite3_stmt* statement = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &statement, &tail) != SQLITE_OK) {
      return LastError(db_, sql);
    }
    if (statement == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("sqlite: no statement in: ", sql));
    }
    absl::string_view rest(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
    if (!absl::StripAsciiWhitespace(rest).empty()) {
      sqlite3_finalize(statement);
      return absl::InvalidArgumentError(
          absl::StrCat("sqlite: more than one statement (use ExecScript) in: ",
                       sql.substr(0, internal::kSqlInMessage)));
    }
    statements_.emplace(std::string(sql), statement);
    return statement;
  }

  absl::Status Bind(sqlite3_stmt* statement, const std::vector<Value>& params,
                    absl::string_view sql) {
    const int expected = sqlite3_bind_parameter_count(statement);
    if (static_cast<size_t>(expected) != params.size()) {
      return absl::InvalidArgumentError(absl::StrCat("sqlite: statement has ", expected,
                                                     " placeholders but ", params.size(),
                                                     " parameters: ", sql.substr(0, 200)));
    }
    for (int i = 0; i < expected; ++i) {
      const Value& value = params[static_cast<size_t>(i)];
      int rc = SQLITE_OK;
      if (const auto* v = std::get_if<int64_t>(&value)) {
        rc = sqlite3_bind_int64(statement, i + 1, *v);
      } else if (const auto* d = std::get_if<double>(&value)) {
        rc = sqlite3_bind_double(statement, i + 1, *d);
      } else if (const auto* s = std::get_if<std::string>(&value)) {
        // STATIC: `params` outlives the statement's use; bindings are cleared after it.
        rc =
            sqlite3_bind_text64(statement, i + 1, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(statement, i + 1);
      }
      if (rc != SQLITE_OK) return LastError(db_, sql);
    }
    return absl::OkStatus();
  }

  static Value Column(sqlite3_stmt* statement, int i) {
    switch (sqlite3_column_type(statement, i)) {
      case SQLITE_INTEGER:
        return int64_t{sqlite3_column_int64(statement, i)};
      case SQLITE_FLOAT:
        return sqlite3_column_double(statement, i);
      case SQLITE_NULL:
        return std::monostate();
      default: {  // TEXT (and BLOB, which portable SQL does not use): the bytes as they are.
        const auto* text = static_cast<const char*>(sqlite3_column_blob(statement, i));
        const int size = sqlite3_column_bytes(statement, i);
        return text == nullptr ? std::string() : std::string(text, static_cast<size_t>(size));
      }
    }
  }

  // Runs one statement to completion, collecting its rows into `rows` when given.
  absl::Status Run(absl::string_view sql, const std::vector<Value>& params,
                   std::vector<Row>* rows) {
    ASSIGN_OR_RETURN(sqlite3_stmt * statement, Prepare(sql));
    absl::Status status = Bind(statement, params, sql);
    while (status.ok()) {
      const int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        status = LastError(db_, sql);  // Read before reset, which may overwrite it.
        break;
      }
      if (rows == nullptr) continue;
      const int columns = sqlite3_column_count(statement);
      std::vector<Value> cells;
      cells.reserve(static_cast<size_t>(columns));
      for (int i = 0; i < columns; ++i) cells.push_back(Column(statement, i));
      rows->emplace_back(std::move(cells));
    }
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
    return status;
  }

  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> statements_;
};

// Runs `fn` inside a savepoint of the open transaction: its effects stay when it returns OK
// and are undone alone when it fails. Returns fn's status; sets `*broken` when the enclosing
// transaction can no longer commit (SQLite ended it, or the savepoint could not be handled).
absl::Status RunInSavepoint(SqliteConnection& c, const TransactionFn& fn, absl::Status* broken) {
  if (absl::Status s = c.Run("SAVEPOINT rein_group_member"); !s.ok()) {
    *broken = s;
    return s;
  }
  absl::Status status = CallTransactionFn(fn, c);
  if (c.InAutocommit()) {
    *broken = absl::InternalError("sqlite: the transaction ended inside a Write callback");
    return status;
  }
  absl::Status end =
      status.ok() ? c.Run("RELEASE rein_group_member") : c.Run("ROLLBACK TO rein_group_member");
  if (!status.ok() && end.ok()) end = c.Run("RELEASE rein_group_member");
  if (!end.ok()) *broken = end;
  return status;
}

class SqliteDatabase final : public Database {
 public:
  static absl::StatusOr<std::unique_ptr<Database>> Open(const SqliteOptions& options) {
    if (options.path.empty() || options.path == ":memory:" ||
        options.path.rfind("file::memory:", 0) == 0) {
      return absl::InvalidArgumentError(
          "sqlite: need a database file (readers and the writer share it), got '" + options.path +
          "'");
    }
    if (options.readers < 1 || options.max_group < 1) {
      return absl::InvalidArgumentError("sqlite: readers and max_group must be at least 1");
    }
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> writer,
                     SqliteConnection::Open(options, /*read_only=*/false));
    // WAL first: the readers' read-only connections need the file already in WAL mode.
    ASSIGN_OR_RETURN(std::vector<Row> mode, writer->Query("PRAGMA journal_mode=WAL", {}));
    if (mode.empty() || absl::AsciiStrToLower(mode[0].Text(0)) != "wal") {
      return absl::FailedPreconditionError(absl::StrCat("sqlite: cannot use WAL mode on ",
                                                        options.path, " (journal mode is '",
                                                        mode.empty() ? "" : mode[0].Text(0), "')"));
    }
    RETURN_IF_ERROR(writer->Run("PRAGMA synchronous=FULL"));
    RETURN_IF_ERROR(writer->Run("PRAGMA foreign_keys=ON"));
    std::vector<std::unique_ptr<SqliteConnection>> readers;
    for (int i = 0; i < options.readers; ++i) {
      ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> reader,
                       SqliteConnection::Open(options, /*read_only=*/true));
      readers.push_back(std::move(reader));
    }
    REIN_LOG(INFO, "sql") << "sqlite " << options.path << " open (WAL, synchronous=FULL, "
                          << options.readers << " readers)";
    return std::unique_ptr<Database>(
        new SqliteDatabase(options, std::move(writer), std::move(readers)));
  }

  ~SqliteDatabase() override {
    {
      absl::MutexLock lock(&queue_mu_);
      stopping_ = true;
    }
    writer_thread_.join();
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  absl::Status Write(const TransactionFn& fn) override {
    PendingWrite pending;
    pending.fn = &fn;
    {
      absl::MutexLock lock(&queue_mu_);
      queue_.push_back(&pending);
    }
    pending.done.WaitForNotification();
    return pending.status;
  }

  absl::Status Read(const TransactionFn& fn) override {
    std::unique_ptr<SqliteConnection> reader;
    {
      absl::MutexLock lock(&readers_mu_);
      readers_mu_.Await(absl::Condition(this, &SqliteDatabase::HasIdleReader));
      reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
    absl::Status status = ReadOn(*reader, fn);
    absl::MutexLock lock(&readers_mu_);
    idle_readers_.push_back(std::move(reader));
    return status;
  }

  absl::Status ExecScript(absl::string_view script) override {
    absl::MutexLock lock(&writer_mu_);  // Between groups, never inside one.
    return writer_->RunScript(script);
  }

 private:
  // One caller of Write, waiting for its group to commit. Lives on the caller's stack.
  // Each has its own notification rather than a condition on queue_mu_: with hundreds of
  // callers queued, every release of a shared mutex would re-evaluate all their conditions.
  struct PendingWrite {
    const TransactionFn* fn = nullptr;
    absl::Status status;        // Written by the writer thread before it notifies `done`.
    absl::Notification done;
  };

  SqliteDatabase(const SqliteOptions& options, std::unique_ptr<SqliteConnection> writer,
                 std::vector<std::unique_ptr<SqliteConnection>> readers)
      : max_group_(static_cast<size_t>(options.max_group)),
        writer_(std::move(writer)),
        idle_readers_(std::move(readers)) {
    writer_thread_ = std::thread([this] { WriterLoop(); });
  }

  bool HasWorkOrStopping() const ABSL_SHARED_LOCKS_REQUIRED(queue_mu_) {
    return stopping_ || !queue_.empty();
  }
  bool HasIdleReader() const ABSL_SHARED_LOCKS_REQUIRED(readers_mu_) {
    return !idle_readers_.empty();
  }

  // Takes whatever is queued (up to max_group) as one group, commits it, wakes its callers.
  // Exits once stopping and the queue is drained.
  void WriterLoop() {
    while (true) {
      std::vector<PendingWrite*> group;
      {
        absl::MutexLock lock(&queue_mu_);
        queue_mu_.Await(absl::Condition(this, &SqliteDatabase::HasWorkOrStopping));
        if (queue_.empty()) return;
        while (!queue_.empty() && group.size() < max_group_) {
          group.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      RunGroup(group);
      for (PendingWrite* pending : group) pending->done.Notify();
    }
  }

  // Runs `group` in one transaction, each fn in its own savepoint, and sets every member's
  // status. A member whose fn met contention, or whose transaction SQLite ended under it, runs
  // again in a fresh transaction, up to kMaxAttempts transactions for the whole group.
  void RunGroup(const std::vector<PendingWrite*>& group) {
    absl::MutexLock lock(&writer_mu_);
    SqliteConnection& c = *writer_;
    std::vector<PendingWrite*> live = group;  // Members with no final status yet.
    for (int attempt = 1; !live.empty(); ++attempt) {
      const bool last = attempt >= kMaxAttempts;
      if (absl::Status begin = c.Run("BEGIN IMMEDIATE"); !begin.ok()) {
        if (absl::IsAborted(begin) && !last) continue;  // busy_timeout already waited.
        for (PendingWrite* p : live) p->status = begin;
        return;
      }
      std::vector<PendingWrite*> to_commit;  // fn returned OK in this transaction.
      std::vector<PendingWrite*> again;      // Must run in the next transaction.
      absl::Status broken;                   // Set when this transaction cannot commit.
      for (PendingWrite* p : live) {
        if (!broken.ok()) {
          again.push_back(p);
          continue;
        }
        absl::Status status = RunInSavepoint(c, *p->fn, &broken);
        if (!broken.ok()) {
          // Everything this transaction held is gone: earlier members run again too.
          again.insert(again.end(), to_commit.begin(), to_commit.end());
          to_commit.clear();
          if (status.ok() || absl::IsAborted(status)) {
            again.push_back(p);
          } else {
            p->status = status;
          }
        } else if (status.ok()) {
          to_commit.push_back(p);
        } else if (absl::IsAborted(status) && !last) {
          again.push_back(p);
        } else {
          p->status = status;
        }
      }
      absl::Status outcome = broken.ok() ? c.Run("COMMIT") : broken;
      if (!outcome.ok()) {
        if (!c.InAutocommit()) c.Run("ROLLBACK").IgnoreError();
        again.insert(again.end(), to_commit.begin(), to_commit.end());
        to_commit.clear();
        if (last || !(absl::IsAborted(outcome) || !broken.ok())) {
          for (PendingWrite* p : again) p->status = outcome;
          return;
        }
      }
      for (PendingWrite* p : to_commit) p->status = absl::OkStatus();
      live = std::move(again);
    }
  }

  // One read transaction on `reader`, retried while it meets contention.
  static absl::Status ReadOn(SqliteConnection& reader, const TransactionFn& fn) {
    absl::Status status;
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
      status = reader.Run("BEGIN");
      if (status.ok()) {
        status = CallTransactionFn(fn, reader);
        if (status.ok()) status = reader.Run("COMMIT");
      }
      if (!reader.InAutocommit()) reader.Run("ROLLBACK").IgnoreError();
      if (!absl::IsAborted(status)) break;
    }
    return status;
  }

  const size_t max_group_;

  absl::Mutex queue_mu_;
  std::deque<PendingWrite*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;

  // Held by the writer thread for a whole group, and by ExecScript.
  absl::Mutex writer_mu_;
  std::unique_ptr<SqliteConnection> writer_ ABSL_GUARDED_BY(writer_mu_);

  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_ ABSL_GUARDED_BY(readers_mu_);

  std::thread writer_thread_;  // Last: it starts once everything above exists.
};

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& options) {
  return SqliteDatabase::Open(options);
}

}  // namespace rein::sql
