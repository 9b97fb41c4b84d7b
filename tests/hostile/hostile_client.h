// Shared by the hostile-client tests: a real service process started on 127.0.0.1 with a small
// gRPC message limit, bad calls fired at it one by one and many at once, and the checks that
// follow every barrage: each call got the code it should (never OK, UNKNOWN or INTERNAL, and a
// short message), the process still serves, and its resident memory stayed near what it was
// after start-up.
#ifndef REIN_TESTS_HOSTILE_HOSTILE_CLIENT_H_
#define REIN_TESTS_HOSTILE_HOSTILE_CLIENT_H_

#include <google/protobuf/repeated_field.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/rpc/client.h"
#include "common/rpc/serve.h"
#include "common/testing/subprocess.h"

namespace rein::testing {

// Every hostile test's server takes messages of at most this many bytes (server.
// max_message_bytes), so that "a message over the limit" costs the test a few MiB only.
inline constexpr int kHostileMessageBytes = 4 << 20;

// The config's server section for a hostile test.
inline std::string HostileServerYaml() {
  return absl::StrCat("server:\n  max_message_bytes: ", kHostileMessageBytes,
                      "\n  drain_timeout: 2s\n");
}

// Resident set size of `pid` in bytes (VmRSS of /proc/<pid>/status); 0 if unreadable.
inline int64_t ResidentBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib * 1024;
  }
  return 0;
}

// One hostile call: what it sends, the codes it may get back, and the call itself.
struct BadCall {
  std::string what;
  std::set<grpc::StatusCode> expected;
  std::function<grpc::Status()> call;
  // When set, the error message must contain it (the limit that refused the call).
  std::string mentions = "";
};

// Runs each call and checks its code: one of `expected`, and never OK, UNKNOWN or INTERNAL
// (which would mean it was not refused at the edge, or crashed a handler). Messages stay short:
// errors quote a prefix of the input, never all of it.
inline void ExpectRefused(const std::vector<BadCall>& calls) {
  for (const BadCall& bad : calls) {
    const grpc::Status status = bad.call();
    INFO(bad.what << ": " << status.error_code() << " " << status.error_message());
    CHECK(bad.expected.count(status.error_code()) == 1);
    CHECK(status.error_code() != grpc::StatusCode::UNKNOWN);
    CHECK(status.error_code() != grpc::StatusCode::INTERNAL);
    CHECK(status.error_message().size() < 1024);
    if (!bad.mentions.empty())
      CHECK(status.error_message().find(bad.mentions) != std::string::npos);
  }
}

// The calls again from `threads` threads at once, each `rounds` times: concurrent bad calls
// must be refused the same way.
inline void ExpectRefusedConcurrently(const std::vector<BadCall>& calls, int threads = 8,
                                      int rounds = 3) {
  std::vector<std::vector<grpc::StatusCode>> got(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        for (const BadCall& bad : calls)
          got[static_cast<size_t>(t)].push_back(bad.call().error_code());
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  for (const auto& codes : got) {
    REQUIRE(codes.size() == calls.size() * static_cast<size_t>(rounds));
    for (size_t i = 0; i < codes.size(); ++i) {
      INFO(calls[i % calls.size()].what << ": " << codes[i]);
      CHECK(calls[i % calls.size()].expected.count(codes[i]) == 1);
    }
  }
}

// A service process under attack: started with --config and --port=0, its address from stdout.
struct HostileTarget {
  std::unique_ptr<Subprocess> process;
  std::string address;
  rpc::ClientOptions client;
  std::shared_ptr<grpc::Channel> channel;
  int64_t baseline_rss = 0;

  std::unique_ptr<grpc::ClientContext> Context() const {
    return rpc::NewCallContext(client, absl::Seconds(30));
  }

  // The process has not exited and answers health checks for `service`.
  void ExpectServing(const std::string& service) const {
    auto exited = process->Wait(absl::ZeroDuration());
    INFO(exited.status().ToString());
    REQUIRE(exited.status().code() == absl::StatusCode::kDeadlineExceeded);
    CHECK(rpc::CheckHealth(*channel, client, service, absl::Seconds(10)).ok());
  }

  // Call once the process has done a valid call or two: the memory it needs to work.
  void RecordBaseline() { baseline_rss = ResidentBytes(process->pid()); }

  // Resident memory grew by at most `slack` bytes since RecordBaseline: the barrage was
  // refused before anything was allocated for it, and nothing it sent was kept.
  void ExpectMemoryBounded(int64_t slack = int64_t{256} << 20) const {
    const int64_t now = ResidentBytes(process->pid());
    INFO("baseline " << baseline_rss << " bytes, now " << now);
    REQUIRE(baseline_rss > 0);
    CHECK(now < baseline_rss + slack);
  }

  void Stop() {
    REQUIRE(process->Signal(SIGTERM).ok());
    auto exit_code = process->Wait(absl::Seconds(60));
    REQUIRE(exit_code.ok());
    CHECK(*exit_code == 0);
  }
};

// Starts `binary` with `flags` and waits for its listening line (after `first_marker`, when the
// binary prints another address first).
inline HostileTarget StartHostileTarget(const std::string& binary,
                                        const std::vector<std::string>& flags,
                                        const std::string& auth_token = "") {
  std::vector<std::string> argv = {BuiltBinary(binary), "--port=0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  HostileTarget target;
  auto process = Subprocess::Start(argv);
  REQUIRE(process.ok());
  target.process = *std::move(process);
  auto address = target.process->WaitForLine(rpc::kListeningMarker, absl::Seconds(120));
  INFO(target.process->output());
  REQUIRE(address.ok());
  target.address = *address;
  target.client.auth_token = auth_token;
  target.client.default_deadline = absl::Seconds(30);
  auto channel = rpc::CreateChannel(target.address, target.client);
  REQUIRE(channel.ok());
  target.channel = *channel;
  return target;
}

// Strings no service should take as an id, a name, an address or a path.
inline std::vector<std::string> HostileStrings() {
  return {
      std::string(1 << 20, 'a'),  // 1 MiB
      std::string("new\nline"),   // control characters
      std::string("nul\0byte", 8),
      std::string("\x1b[2J\x1b[H escape"),  // terminal escapes in a log
      std::string(5000, '/'),               // a path beyond PATH_MAX
      std::string("tab\there"),
  };
}

// Token ids enough to take a message over kHostileMessageBytes (small ids are one byte each on
// the wire).
inline void FillOverMessageLimit(google::protobuf::RepeatedField<int32_t>* ids) {
  ids->Reserve(kHostileMessageBytes + 1024);
  for (int i = 0; i < kHostileMessageBytes + 1024; ++i) ids->Add(9);
}

// How a test names a hostile string: its first bytes, escaped, and its length.
inline std::string QuotedForTest(const std::string& value) {
  return absl::StrCat("'", absl::CHexEscape(value.substr(0, 12)), "' (", value.size(), " bytes)");
}

// A string just over `bytes` (to send a message over the server's limit).
inline std::string Oversized(size_t bytes = kHostileMessageBytes + 1024) {
  return std::string(bytes, 'x');
}

}  // namespace rein::testing

#endif  // REIN_TESTS_HOSTILE_HOSTILE_CLIENT_H_
