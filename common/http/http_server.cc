#include "common/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <utility>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace rein::http {
namespace {

// Request paths echoed in error messages and logs are cut to this many bytes.
constexpr size_t kMaxEchoedPath = 200;

// Connections the kernel queues for accept(); it caps this at net.core.somaxconn.
constexpr int kListenBacklog = 1024;

// The literal to bind: host names are refused rather than resolved, so that binding never
// waits on DNS and a typo is INVALID_ARGUMENT, not an interface nobody meant.
absl::StatusOr<std::string> BindHost(const std::string& host) {
  if (host == "localhost") return std::string("127.0.0.1");
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return host;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("HTTP host '", host, "' is not an IPv4 or IPv6 address"));
}

absl::Status CheckTimeout(const char* name, absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP ", name, " must be positive and finite, not ", absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

absl::Status Validate(const HttpServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP port ", options.port, " is outside 0..65535"));
  }
  if (options.threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat("HTTP threads ", options.threads, " < 1"));
  }
  if (options.keep_alive_max_count < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP keep_alive_max_count ", options.keep_alive_max_count, " < 1"));
  }
  if (absl::Status s = CheckTimeout("read_timeout", options.read_timeout); !s.ok()) return s;
  if (absl::Status s = CheckTimeout("write_timeout", options.write_timeout); !s.ok()) return s;
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "HTTP TLS needs both a certificate and a key file, or neither");
  }
  return CheckTimeout("keep_alive_timeout", options.keep_alive_timeout);
}

absl::Status CheckReadable(const std::string& path, const char* what) {
  if (access(path.c_str(), R_OK) == 0) return absl::OkStatus();
  const int error = errno;
  const std::string message =
      absl::StrCat("HTTP TLS ", what, " '", path, "': ", std::strerror(error));
  return error == ENOENT ? absl::NotFoundError(message) : absl::InvalidArgumentError(message);
}

// A plain server, or an HTTPS one with the certificate and key of `options` loaded.
absl::StatusOr<std::unique_ptr<httplib::Server>> NewServer(const HttpServerOptions& options) {
  if (options.tls_cert_file.empty()) return std::make_unique<httplib::Server>();
  if (absl::Status s = CheckReadable(options.tls_cert_file, "certificate"); !s.ok()) return s;
  if (absl::Status s = CheckReadable(options.tls_key_file, "key"); !s.ok()) return s;
  auto server = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                     options.tls_key_file.c_str());
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP TLS: cannot use certificate '", options.tls_cert_file, "' with key '",
        options.tls_key_file, "' (not PEM, or the key does not match the certificate)"));
  }
  return server;
}

// Options of the listening socket, replacing httplib's default SO_REUSEPORT: with that, a second
// server (another process of the same user) binds a taken port and silently shares its
// connections. SO_REUSEADDR still lets a restarted server bind while old connections sit in
// TIME_WAIT. Close-on-exec so that a child process cannot keep the port after we exit.
void SetListeningSocketOptions(int fd) {
  const int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

std::chrono::microseconds Micros(absl::Duration d) { return absl::ToChronoMicroseconds(d); }

// The code named in the JSON body of an error reply that httplib produced without a body.
absl::StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 405: return absl::StatusCode::kUnimplemented;
    case 408: return absl::StatusCode::kDeadlineExceeded;
    case 409: return absl::StatusCode::kFailedPrecondition;
    case 413:  // payload too large
    case 414:  // URI too long
    case 431:  // header fields too large
    case 429: return absl::StatusCode::kResourceExhausted;
    case 416: return absl::StatusCode::kOutOfRange;
    case 501: return absl::StatusCode::kUnimplemented;
    case 503: return absl::StatusCode::kUnavailable;
    case 504: return absl::StatusCode::kDeadlineExceeded;
    default:
      return status < 500 ? absl::StatusCode::kInvalidArgument : absl::StatusCode::kInternal;
  }
}

// Writes the JSON error body with an explicit HTTP status (httplib's 413 stays 413 although
// RESOURCE_EXHAUSTED maps to 429). Never throws: it runs where an exception would end the
// process (httplib's error handler) or replace a reply already chosen.
void WriteError(httplib::Response& response, int http_status, absl::StatusCode code,
                std::string_view message, std::string_view field) noexcept {
  response.status = http_status;
  try {
    nlohmann::json error = {{"code", absl::StatusCodeToString(code)},
                            {"message", std::string(message)}};
    if (!field.empty()) error["field"] = std::string(field);
    const nlohmann::json body = {{"error", std::move(error)}};
    response.set_content(
        body.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace),
        "application/json");
  } catch (...) {
    // Out of memory: the status alone still tells the client what happened.
    response.body.clear();
  }
}

std::string DescribeException(std::exception_ptr exception) {
  try {
    if (exception) std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "an exception not derived from std::exception";
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

void ReplyError(httplib::Response& response, const absl::Status& status, std::string_view field) {
  if (status.ok()) {
    WriteError(response, 500, absl::StatusCode::kInternal, "error reply without an error", field);
    return;
  }
  // Debian's Abseil has its own string_view, not std::string_view.
  const absl::string_view message = status.message();
  WriteError(response, HttpStatusFor(status.code()), status.code(),
             std::string_view(message.data(), message.size()), field);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, std::function<void(httplib::Server&)> install_routes) {
  if (absl::Status valid = Validate(options); !valid.ok()) return valid;
  absl::StatusOr<std::string> host = BindHost(options.host);
  if (!host.ok()) return host.status();

  absl::StatusOr<std::unique_ptr<httplib::Server>> made = NewServer(options);
  if (!made.ok()) return made.status();
  std::unique_ptr<httplib::Server> server = *std::move(made);
  auto listening_fd = std::make_shared<int>(-1);
  server->set_socket_options([listening_fd](int fd) {
    SetListeningSocketOptions(fd);
    *listening_fd = fd;
  });
  // httplib sends a reply's head and body in separate writes; with Nagle's algorithm the body
  // of every reply after the first on a keep-alive connection waits for the client's delayed
  // ACK (~40 ms). Accepted sockets inherit TCP_NODELAY from the listening one.
  server->set_tcp_nodelay(true);
  server->set_read_timeout(Micros(options.read_timeout));
  server->set_write_timeout(Micros(options.write_timeout));
  server->set_keep_alive_timeout(static_cast<time_t>(
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(options.keep_alive_timeout,
                                                            absl::Seconds(1))))));
  server->set_keep_alive_max_count(static_cast<size_t>(options.keep_alive_max_count));
  server->set_payload_max_length(options.max_request_bytes);
  // httplib calls this from its catch blocks around routing; without it httplib answers 500
  // with the exception's text in an EXCEPTION_WHAT header, which we do not want on the wire.
  server->set_exception_handler([name = options.name](const httplib::Request& request,
                                                      httplib::Response& response,
                                                      std::exception_ptr exception) {
    try {
      REIN_LOG(ERROR, name) << request.method << " "
                            << request.path.substr(0, kMaxEchoedPath)
                            << " threw: " << DescribeException(exception);
    } catch (...) {
      // Logging failed (out of memory); the 500 below still goes out.
    }
    WriteError(response, 500, absl::StatusCode::kInternal, "internal error", {});
  });
  // httplib calls this for every reply with status >= 400, outside its exception guard. Named
  // type: a lambda fits both overloads of set_error_handler.
  server->set_error_handler(httplib::Server::HandlerWithResponse(
      [limit = options.max_request_bytes](const httplib::Request& request,
                                          httplib::Response& response) noexcept {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        try {
          std::string message =
              response.status == 413
                  ? absl::StrCat("request body is over the limit of ", limit, " bytes")
                  : absl::StrCat("HTTP ", response.status, " for ", request.method, " ",
                                 request.path.substr(0, kMaxEchoedPath));
          WriteError(response, response.status, CodeForHttpStatus(response.status), message, {});
        } catch (...) {
          // Out of memory building the message: the status alone goes out.
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  // Route patterns are std::regex: a bad one throws here, on the caller's thread.
  try {
    if (install_routes) install_routes(*server);
  } catch (...) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP routes of ", options.name, ": ", DescribeException(std::current_exception())));
  }

  // AI_NUMERICHOST: `host` is a literal (checked above); getaddrinfo must not consult DNS.
  errno = 0;
  int port = options.port;
  const bool bound = port == 0 ? (port = server->bind_to_any_port(*host, AI_NUMERICHOST)) > 0
                               : server->bind_to_port(*host, port, AI_NUMERICHOST);
  if (!bound) {
    const int error = errno;
    return absl::UnavailableError(absl::StrCat(
        "cannot serve HTTP (", options.name, ") on ", options.host, ":", options.port,
        error != 0 ? absl::StrCat(": ", std::strerror(error)) : std::string()));
  }
  // httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed when Debian built the
  // library): a burst of clients connecting at once (a crowd of annotators opening their
  // sessions) overflows it, and each SYN past it waits for the kernel's retransmits (1 s, 3 s,
  // 7 s...), past a client's connect timeout. Listening again on the bound socket raises it.
  if (*listening_fd >= 0) ::listen(*listening_fd, kListenBacklog);
  return std::unique_ptr<HttpServer>(
      new HttpServer(options.name, options.host, port, options.threads,
                     !options.tls_cert_file.empty(), std::move(server)));
}

HttpServer::HttpServer(std::string name, std::string host, int port, int threads, bool tls,
                       std::unique_ptr<httplib::Server> server)
    : name_(std::move(name)),
      host_(std::move(host)),
      port_(port),
      tls_(tls),
      server_(std::move(server)) {
  // httplib 0.11.4 calls new_task_queue inside listen_after_bind, just after it has marked
  // itself running: from then on its stop() ends the accept loop. That is the "listening"
  // moment Stop() needs; 0.11.4 has no wait_until_ready().
  server_->new_task_queue = [this, threads] {
    listening_.Notify();
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  absl::MutexLock lock(&mutex_);
  listener_ = std::thread([this] {
    std::string failure;
    try {
      if (!server_->listen_after_bind()) failure = "an accept() error";
    } catch (...) {
      // E.g. std::system_error when the worker threads cannot be created.
      failure = DescribeException(std::current_exception());
    }
    // Only this thread notifies, so the check cannot race with another Notify().
    if (!listening_.HasBeenNotified()) listening_.Notify();
    if (!failure.empty()) {
      REIN_LOG(ERROR, name_) << "HTTP server on " << address()
                             << " stopped accepting connections after " << failure;
    }
  });
}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::address() const {
  return host_.find(':') != std::string::npos ? absl::StrCat("[", host_, "]:", port_)
                                               : absl::StrCat(host_, ":", port_);
}

void HttpServer::Stop() {
  absl::MutexLock lock(&mutex_);
  if (!listener_.joinable()) return;
  listening_.WaitForNotification();
  server_->stop();
  listener_.join();
}

}  // namespace rein::http
