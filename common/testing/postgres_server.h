// A real PostgreSQL server for a test, from the distribution's package (Debian:
// /usr/lib/postgresql/<version>/bin): a fresh cluster in a scratch folder under the temp dir,
// listening only on 127.0.0.1 on a port picked at run time, with fsync on. The destructor stops
// the server (fast shutdown) and removes the folder; if the test process dies first, the
// server gets SIGKILL (it is our child with a parent-death signal).
//
// PostgreSQL refuses to run as root; when the test runs as root the server and initdb run as
// the `postgres` system user instead.
//
//   absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
//   if (!server.ok()) { WARN("skipped: " << server.status()); return; }
//   OpenPostgres({.conninfo = (*server)->conninfo()});
//
// Start from a thread that lives as long as the server (e.g. the test's main thread): the
// parent-death signal fires when the starting thread exits.
// Thread safety: conninfo()/port() are safe from any thread; CreateDatabase is thread safe
// (each call opens its own connection).
#ifndef REIN_COMMON_TESTING_POSTGRES_SERVER_H_
#define REIN_COMMON_TESTING_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rein::testing {

struct PostgresServerOptions {
  // The database conninfo() names, created at start.
  std::string database = "rein";
  // How long initdb plus server start-up may take in all.
  absl::Duration start_timeout = absl::Seconds(90);
};

class PostgresServer {
 public:
  // FAILED_PRECONDITION when this machine cannot run one (no PostgreSQL binaries; root without
  // a `postgres` user), UNAVAILABLE when initdb or the server failed (with their output), and
  // DEADLINE_EXCEEDED when it did not accept connections in time. The message says which.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(
      const PostgresServerOptions& options = {});

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // libpq conninfo of options.database: "host=127.0.0.1 port=N user=rein dbname=rein".
  const std::string& conninfo() const { return conninfo_; }
  int port() const { return port_; }

  // Creates another empty database (e.g. one per test case) and returns its conninfo.
  absl::StatusOr<std::string> CreateDatabase(absl::string_view name) const;

 private:
  PostgresServer(std::string scratch_dir, pid_t pid, int port);
  std::string ConninfoFor(absl::string_view database) const;

  std::string scratch_dir_;
  pid_t pid_;  // The postmaster, our child.
  int port_;
  std::string conninfo_;
};

}  // namespace rein::testing

#endif  // REIN_COMMON_TESTING_POSTGRES_SERVER_H_
