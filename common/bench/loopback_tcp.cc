#include "common/bench/loopback_tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace rein::bench {
namespace {

absl::Status SocketError(const char* call) {
  return absl::InternalError(absl::StrCat("loopback TCP: ", call, ": ", std::strerror(errno)));
}

// Closes the descriptor when it goes out of scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// One transfer of `source` into `sink` over a new connection to `addr`.
absl::Status Transfer(const sockaddr_in& addr, int listener, const std::vector<char>& source,
                      std::vector<char>& sink) {
  const int64_t bytes = static_cast<int64_t>(source.size());
  std::thread receiver([&] {
    Fd in{::accept(listener, nullptr, nullptr)};
    for (int64_t got = 0; in.fd >= 0 && got < bytes;) {
      ssize_t n = ::recv(in.fd, sink.data() + got, static_cast<size_t>(bytes - got), 0);
      if (n <= 0) break;
      got += n;
    }
  });
  absl::Status status;
  {
    Fd out{::socket(AF_INET, SOCK_STREAM, 0)};
    if (::connect(out.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      status = SocketError("connect");
      ::shutdown(listener, SHUT_RDWR);  // Wakes the receiver's accept.
    }
    for (int64_t sent = 0; status.ok() && sent < bytes;) {
      ssize_t n = ::send(out.fd, source.data() + sent, static_cast<size_t>(bytes - sent), 0);
      if (n <= 0) status = SocketError("send");
      sent += n;
    }
  }  // Closing the socket ends the receiver's loop even after an error.
  receiver.join();
  return status;
}

}  // namespace

absl::StatusOr<std::vector<double>> LoopbackTcpSeconds(int64_t bytes, int runs) {
  std::vector<char> source(static_cast<size_t>(bytes), 1), sink(static_cast<size_t>(bytes));
  Fd listener{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return SocketError("bind");
  }
  socklen_t len = sizeof(addr);
  if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return SocketError("getsockname");
  }
  if (::listen(listener.fd, 1) != 0) return SocketError("listen");
  std::vector<double> seconds;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    if (absl::Status done = Transfer(addr, listener.fd, source, sink); !done.ok()) return done;
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return seconds;
}

}  // namespace rein::bench
