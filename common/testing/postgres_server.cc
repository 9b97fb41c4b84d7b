#include "common/testing/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace rein::testing {
namespace {

// Who runs initdb and the server: ourselves, or `postgres` when we are root.
struct Identity {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::string Errno(absl::string_view what) { return absl::StrCat(what, ": ", std::strerror(errno)); }

// The bin folder of the newest installed PostgreSQL that has both initdb and postgres.
absl::StatusOr<std::string> FindBinDir() {
  constexpr const char* kPattern = "/usr/lib/postgresql/*/bin";
  glob_t found{};
  std::vector<std::pair<int, std::string>> candidates;
  if (::glob(kPattern, GLOB_ONLYDIR, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) {
      const std::string dir = found.gl_pathv[i];
      if (::access((dir + "/initdb").c_str(), X_OK) != 0 ||
          ::access((dir + "/postgres").c_str(), X_OK) != 0) {
        continue;
      }
      // ".../postgresql/<version>/bin": order by the version's major number.
      const std::string version = std::filesystem::path(dir).parent_path().filename();
      int major = 0;
      (void)absl::SimpleAtoi(version.substr(0, version.find('.')), &major);
      candidates.emplace_back(major, dir);
    }
  }
  ::globfree(&found);
  if (candidates.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no PostgreSQL server binaries (initdb, postgres) under ", kPattern,
                     "; install the postgresql package (scripts/setup.sh)"));
  }
  return std::max_element(candidates.begin(), candidates.end())->second;
}

absl::StatusOr<Identity> ChooseIdentity() {
  if (::geteuid() != 0) return Identity{};
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr) {
    return absl::FailedPreconditionError(
        "running as root, PostgreSQL refuses root, and there is no 'postgres' user to run it as");
  }
  return Identity{.switch_user = true, .uid = user->pw_uid, .gid = user->pw_gid};
}

// A port that was free a moment ago on 127.0.0.1 (the kernel's pick for port 0).
absl::StatusOr<int> PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(Errno("socket"));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const std::string error = ok ? "" : Errno("bind 127.0.0.1:0");
  ::close(fd);
  if (!ok) return absl::UnavailableError(error);
  return static_cast<int>(ntohs(address.sin_port));
}

// Starts argv as `who` with stdout and stderr appended to `log_path`. The child gets SIGKILL
// if this thread dies. Returns its pid.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const Identity& who,
                            const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::UnavailableError(Errno(absl::StrCat("open ", log_path)));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (who.switch_user &&
        (::setgroups(0, nullptr) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0)) {
      _exit(126);
    }
    // After the user switch, which clears a parent-death signal set before it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(fork_errno)));
  return pid;
}

// Waits for `pid` to exit; its exit code (128 + signal for a signal). DEADLINE_EXCEEDED if it
// still runs after `timeout`.
absl::StatusOr<int> WaitExit(pid_t pid, absl::Duration timeout) {
  const int pid_fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pid_fd >= 0) {
    pollfd fd{pid_fd, POLLIN, 0};
    const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout));
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
    ::close(pid_fd);
    if (ready == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("pid ", pid, " still running after ", absl::FormatDuration(timeout)));
    }
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return absl::InternalError(Errno("waitpid"));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The end of a log file, for error messages.
std::string LogTail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  constexpr size_t kTail = 2000;
  return all.size() > kTail ? all.substr(all.size() - kTail) : all;
}

std::string MakeScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/rein_pg_XXXXXX");
  const char* made = ::mkdtemp(pattern.data());
  return made != nullptr ? std::string(made) : std::string();
}

// Removes the scratch folder if the server never came up.
class ScratchGuard {
 public:
  explicit ScratchGuard(std::string dir) : dir_(std::move(dir)) {}
  ~ScratchGuard() {
    if (dir_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  void Release() { dir_.clear(); }

 private:
  std::string dir_;
};

std::string ConninfoAt(int port, absl::string_view database) {
  return absl::StrCat("host=127.0.0.1 port=", port, " user=rein dbname=", database);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    const PostgresServerOptions& options) {
  const absl::Time deadline = absl::Now() + options.start_timeout;
  ASSIGN_OR_RETURN(const std::string bin, FindBinDir());
  ASSIGN_OR_RETURN(const Identity who, ChooseIdentity());
  const std::string scratch = MakeScratchDir();
  if (scratch.empty()) return absl::UnavailableError(Errno("mkdtemp"));
  ScratchGuard guard(scratch);
  if (who.switch_user && ::chown(scratch.c_str(), who.uid, who.gid) != 0) {
    return absl::FailedPreconditionError(Errno(absl::StrCat("chown ", scratch, " to postgres")));
  }
  const std::string data = scratch + "/data";
  const std::string log = scratch + "/postgres.log";

  // --no-sync only skips initdb's own fsyncs of the template files; the server runs with
  // fsync=on below.
  ASSIGN_OR_RETURN(pid_t initdb, Spawn({bin + "/initdb", "-D", data, "-A", "trust", "-U", "rein",
                                        "-E", "UTF8", "--locale=C", "--no-sync"},
                                       who, log));
  ASSIGN_OR_RETURN(int initdb_exit, WaitExit(initdb, deadline - absl::Now()));
  if (initdb_exit != 0) {
    return absl::UnavailableError(absl::StrCat("initdb exited with ", initdb_exit,
                                               (initdb_exit == 126 ? " (cannot switch user)" : ""),
                                               ":\n", LogTail(log)));
  }

  // The picked port can be taken between the pick and the server's bind: try a few.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSIGN_OR_RETURN(int port, PickFreePort());
    ASSIGN_OR_RETURN(pid_t pid, Spawn({bin + "/postgres", "-D", data, "-p", absl::StrCat(port),
                                       "-c", "listen_addresses=127.0.0.1", "-c",
                                       "unix_socket_directories=" + scratch, "-c", "fsync=on", "-c",
                                       "synchronous_commit=on", "-c", "max_connections=100"},
                                      who, log));
    const std::string probe = ConninfoAt(port, "postgres") + " connect_timeout=2";
    bool exited = false;
    while (absl::Now() < deadline) {
      if (PQping(probe.c_str()) == PQPING_OK) break;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));  // Polls a child we cannot await otherwise.
    }
    if (exited) {
      const std::string tail = LogTail(log);
      if (tail.find("could not bind") != std::string::npos && attempt < 3) continue;
      return absl::UnavailableError(absl::StrCat("postgres exited during start-up:\n", tail));
    }
    if (PQping(probe.c_str()) != PQPING_OK) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return absl::DeadlineExceededError(absl::StrCat("postgres did not accept connections within ",
                                                      absl::FormatDuration(options.start_timeout),
                                                      ":\n", LogTail(log)));
    }
    auto server = std::unique_ptr<PostgresServer>(new PostgresServer(scratch, pid, port));
    guard.Release();  // The server's destructor removes the folder from here on.
    ASSIGN_OR_RETURN(server->conninfo_, server->CreateDatabase(options.database));
    return server;
  }
  return absl::UnavailableError("postgres could not bind a free port in 3 attempts");
}

PostgresServer::PostgresServer(std::string scratch_dir, pid_t pid, int port)
    : scratch_dir_(std::move(scratch_dir)), pid_(pid), port_(port) {}

PostgresServer::~PostgresServer() {
  ::kill(pid_, SIGINT);  // What `pg_ctl stop -m fast` sends: roll back clients, checkpoint, exit.
  if (!WaitExit(pid_, absl::Seconds(30)).ok()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(scratch_dir_, ignored);
}

std::string PostgresServer::ConninfoFor(absl::string_view database) const {
  return ConninfoAt(port_, database);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(absl::string_view name) const {
  PGconn* conn = PQconnectdb(ConninfoFor("postgres").c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(absl::StrCat("connect: ", PQerrorMessage(conn)));
  } else {
    const std::string text(name);
    char* quoted = PQescapeIdentifier(conn, text.data(), text.size());
    PGresult* result = PQexec(conn, absl::StrCat("CREATE DATABASE ", quoted).c_str());
    PQfreemem(quoted);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      status = absl::UnavailableError(
          absl::StrCat("CREATE DATABASE ", name, ": ", PQresultErrorMessage(result)));
    }
    PQclear(result);
  }
  PQfinish(conn);
  RETURN_IF_ERROR(status);
  return ConninfoFor(name);
}

}  // namespace rein::testing
