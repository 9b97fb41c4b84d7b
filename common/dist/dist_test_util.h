// Shared by common/dist's tests: runs the ranks of a Gloo group as threads of the test process
// (over loopback TCP), each with its own Communicator.
#ifndef REIN_COMMON_DIST_DIST_TEST_UTIL_H_
#define REIN_COMMON_DIST_DIST_TEST_UTIL_H_

#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/dist/gloo_communicator.h"

namespace rein::dist::testing {

inline GlooOptions LoopbackOptions(int rank, int world_size,
                                   absl::Duration timeout = absl::Seconds(30)) {
  GlooOptions options;
  options.rank = rank;
  options.world_size = world_size;
  options.timeout = timeout;
  options.diagnosis_grace = absl::Seconds(1);
  options.hostname = "127.0.0.1";
  return options;
}

// Calls body(comm, rank) on `world_size` threads, each with a communicator of one group formed
// over `store` (a fresh HashStore when null); returns each rank's status (a failed group
// formation is that rank's status).
inline std::vector<absl::Status> RunRanks(
    int world_size, const std::function<absl::Status(Communicator&, int)>& body,
    absl::Duration timeout = absl::Seconds(30), StorePtr store = StorePtr()) {
  if (!store) store = c10::make_intrusive<c10d::HashStore>();
  std::vector<absl::Status> results(world_size);
  std::vector<std::thread> threads;
  for (int r = 0; r < world_size; ++r) {
    threads.emplace_back([&, r] {
      auto comm = CreateGlooCommunicator(LoopbackOptions(r, world_size, timeout), store);
      results[r] = comm.ok() ? body(**comm, r) : comm.status();
    });
  }
  for (std::thread& t : threads) t.join();
  return results;
}

}  // namespace rein::dist::testing

#endif  // REIN_COMMON_DIST_DIST_TEST_UTIL_H_
