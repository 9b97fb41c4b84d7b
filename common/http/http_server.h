// Rein's one way to serve HTTP: a cpp-httplib server bound with Rein's defaults and run on its
// own thread, plus the JSON error reply every HTTP API of Rein returns.
//
//   ASSIGN_OR_RETURN(
//       std::unique_ptr<http::HttpServer> server,
//       http::HttpServer::Start({.name = "feedback", .port = 0}, [&](httplib::Server& s) {
//         s.Get("/api/v1/items", [&](const httplib::Request& req, httplib::Response& res) {
//           http::ReplyError(res, absl::InvalidArgumentError("limit must be > 0"), "limit");
//         });
//       }));
//   REIN_LOG(INFO, "feedback") << "HTTP on " << server->address();
//
// Why cpp-httplib (Debian's 0.11.4, a shared library): every HTTP endpoint of Rein — /metrics
// and the feedback API — uses one library. It runs requests on std::thread workers with the
// default stack size, so it is safe in processes that load LibTorch (civetweb's fixed 100 KiB
// stacks are not: LibTorch's static TLS alone is larger and glibc refuses such threads).
//
// Threading: one listener thread accepts; `threads` pool workers run the handlers, one
// connection each at a time, so handlers must be safe to run concurrently. A connection holds
// its worker while it waits for a request (keep_alive_timeout), while it reads one
// (read_timeout, per read) and while the reply is written (write_timeout, per write), so these
// timeouts bound how long a stalled or idle client holds a worker, and how long Stop() waits.
//
// What Start sets before `install_routes` runs (the routes may override any of it):
//   - an exception handler: an exception from a handler becomes a 500 JSON error (and an error
//     log line), never a crash of the worker thread and never a leaked what() header;
//   - an error handler: an error reply without a body (e.g. httplib's own 404 for an unknown
//     path, 400 for a malformed request, 413 over max_request_bytes) gets a JSON error body.
// An error handler that routes install in place of this one must not throw: httplib calls it
// outside its exception guard, on a worker thread.
//
// Side effect: constructing an httplib::Server sets SIGPIPE to SIG_IGN for the whole process
// (httplib does this; it also sends with MSG_NOSIGNAL). Children exec'd later inherit the
// ignored SIGPIPE.
//
// Thread safety: all methods are safe to call concurrently, except that Stop() (and the
// destructor) must not run on one of the server's own threads, i.e. inside a handler.
#ifndef REIN_COMMON_HTTP_HTTP_SERVER_H_
#define REIN_COMMON_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

// Declared, not included: <httplib.h> (with OpenSSL's headers behind it) stays out of every
// translation unit that only owns a server, e.g. through MetricsServer. Files that install
// routes include <httplib.h> themselves; rein::http carries its compile definitions.
namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace rein::http {

struct HttpServerOptions {
  // Names the server in log lines, e.g. "metrics" or "feedback". Default: "http".
  std::string name = "http";
  // Interface to bind: an IPv4 or IPv6 literal, or "localhost" (127.0.0.1). Host names are not
  // resolved. Default: loopback only.
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free one (see HttpServer::port()). Default: 0.
  int port = 0;
  // Worker threads, i.e. connections served at once; more wait in the accept queue.
  // Default: 8.
  int threads = 8;
  // Longest wait for the next bytes of a request once it has started. Default: 10 s.
  absl::Duration read_timeout = absl::Seconds(10);
  // Longest wait for the client to take the next bytes of a reply. Default: 10 s.
  absl::Duration write_timeout = absl::Seconds(10);
  // How long an open connection may wait for its next (or first) request before it is closed.
  // httplib counts whole seconds: rounded up, at least 1 s. Default: 5 s.
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  // Requests served on one connection before it is closed. Default: 100.
  int keep_alive_max_count = 100;
  // Largest request body accepted; a larger one is answered 413. Default: 1 MiB.
  size_t max_request_bytes = size_t{1} << 20;
  // HTTPS: the PEM certificate chain and private key the server presents. Both set = HTTPS
  // only (a plain-HTTP request on the port fails its TLS handshake), both empty = plain HTTP.
  // Client certificates are not asked for: browsers of annotators have none. Default: empty.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// A running HTTP server. Owns its httplib::Server, listener thread and worker threads.
class HttpServer {
 public:
  // Binds host:port, lets `install_routes` add handlers (it runs once, before any request is
  // served, on the calling thread), and starts serving on a new thread.
  // INVALID_ARGUMENT for a bad host, port or option, or a TLS certificate or key that cannot
  // be loaded (NOT_FOUND when a file is missing); UNAVAILABLE if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, std::function<void(httplib::Server&)> install_routes);

  // Stops, as Stop() does.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const { return port_; }
  // "host:port" as given in the options ("[host]:port" for IPv6).
  std::string address() const;
  // "https" when serving TLS, else "http".
  const char* scheme() const { return tls_ ? "https" : "http"; }

  // Stops accepting, lets requests in progress finish and joins every thread. A connection
  // waiting for its next request is closed when its keep-alive wait ends (httplib does not
  // interrupt it), so Stop() can take up to keep_alive_timeout, or read_timeout +
  // write_timeout for a slow request. Connections accepted but not yet picked up by a worker
  // are closed unanswered. Idempotent; later calls return once the first has finished.
  void Stop();

 private:
  HttpServer(std::string name, std::string host, int port, int threads, bool tls,
             std::unique_ptr<httplib::Server> server);

  const std::string name_;
  const std::string host_;
  const int port_;
  const bool tls_;
  const std::unique_ptr<httplib::Server> server_;
  // Notified on the listener thread once httplib's listen loop has begun (or has returned):
  // httplib's stop() does nothing before that, so Stop() must not run earlier.
  absl::Notification listening_;
  absl::Mutex mutex_;
  // Runs listen_after_bind(); joined by the first Stop().
  std::thread listener_ ABSL_GUARDED_BY(mutex_);
};

// The HTTP status for a Status code: INVALID_ARGUMENT 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS / FAILED_PRECONDITION / ABORTED 409,
// RESOURCE_EXHAUSTED 429, UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, OK 200,
// every other code 500.
int HttpStatusFor(absl::StatusCode code);

// Fills `response` with the error reply of Rein's HTTP APIs:
//   HTTP HttpStatusFor(code), Content-Type: application/json,
//   {"error": {"code": "INVALID_ARGUMENT", "message": "...", "field": "limit"}}
// "field" (the request field at fault) is present only when `field` is not empty. An OK
// `status` is a caller's bug and is answered as INTERNAL. Never throws; text that is not UTF-8
// is written with U+FFFD in place of the bad bytes.
void ReplyError(httplib::Response& response, const absl::Status& status,
                std::string_view field = {});

}  // namespace rein::http

#endif  // REIN_COMMON_HTTP_HTTP_SERVER_H_
