// The raw loopback TCP limit a weight push is measured against: `bytes` moved from one buffer to
// another through a plain socket on 127.0.0.1 (a sender thread and a receiver thread, no
// framing, no copies besides the kernel's), timed per run.
//
// Thread safety: stateless; each call owns its sockets and buffers (2 x bytes of memory).
#ifndef REIN_COMMON_BENCH_LOOPBACK_TCP_H_
#define REIN_COMMON_BENCH_LOOPBACK_TCP_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::bench {

// Seconds of each of `runs` transfers of `bytes` (a fresh connection each, connect to last byte
// received). INTERNAL naming the socket call that failed.
absl::StatusOr<std::vector<double>> LoopbackTcpSeconds(int64_t bytes, int runs);

}  // namespace rein::bench

#endif  // REIN_COMMON_BENCH_LOOPBACK_TCP_H_
