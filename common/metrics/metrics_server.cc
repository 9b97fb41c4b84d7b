#include "common/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <prometheus/text_serializer.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rein {
namespace {

// A scrape must arrive within this long; a client that stalls cannot hold the server.
constexpr int kRequestTimeoutMs = 5000;
constexpr size_t kMaxRequestBytes = 16 * 1024;

void WriteAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // The scraper went away; nothing to do.
    sent += static_cast<size_t>(n);
  }
}

// The request head (up to the blank line), or what arrived before the timeout or limit.
std::string ReadRequestHead(int fd) {
  std::string head;
  char buffer[2048];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxRequestBytes) {
    pollfd readable = {fd, POLLIN, 0};
    if (poll(&readable, 1, kRequestTimeoutMs) <= 0) break;
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    head.append(buffer, static_cast<size_t>(n));
  }
  return head;
}

std::string Reply(const char* status, const char* content_type, const std::string& body) {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(
    const MetricsServerOptions& options, std::shared_ptr<prometheus::Registry> registry) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port ", options.port, " out of range"));
  }
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options.port));
  const std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics host '", options.host, "' is not an IPv4 address"));
  }
  const std::string bind_name = absl::StrCat(options.host, ":", options.port);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("metrics socket: ", strerror(errno)));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 16) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", bind_name, ": ", strerror(error)));
  }
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int wake = eventfd(0, EFD_CLOEXEC);
  if (wake < 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("metrics eventfd: ", strerror(errno)));
  }
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(fd, wake, std::move(registry), options.host, ntohs(address.sin_port)));
}

MetricsServer::MetricsServer(int listen_fd, int wake_fd,
                             std::shared_ptr<prometheus::Registry> registry, std::string host,
                             int port)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      registry_(std::move(registry)),
      host_(std::move(host)),
      port_(port),
      thread_([this] { Serve(); }) {}

MetricsServer::~MetricsServer() {
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  thread_.join();
  close(listen_fd_);
  close(wake_fd_);
}

std::string MetricsServer::address() const { return absl::StrCat(host_, ":", port_); }

void MetricsServer::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    Answer(connection);
    close(connection);
  }
}

void MetricsServer::Answer(int connection) const {
  const std::string head = ReadRequestHead(connection);
  const size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  if (!absl::StartsWith(request_line, "GET ")) {
    WriteAll(connection, Reply("405 Method Not Allowed", "text/plain", "only GET\n"));
    return;
  }
  const std::string target = request_line.substr(4, request_line.find(' ', 4) - 4);
  if (target != "/metrics" && !absl::StartsWith(target, "/metrics?")) {
    WriteAll(connection, Reply("404 Not Found", "text/plain", "metrics are at /metrics\n"));
    return;
  }
  const std::string body = prometheus::TextSerializer().Serialize(registry_->Collect());
  WriteAll(connection, Reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", body));
}

}  // namespace rein
