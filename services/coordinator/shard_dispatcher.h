// Runs one batch of work across the replicas of a role: every replica pulls the next range of
// items sized to its capacity, so faster replicas take more. A range whose call fails with
// UNAVAILABLE or DEADLINE_EXCEEDED goes back to the queue for another replica (the failed one
// is dropped for the rest of the batch); any other error ends the batch. Every item is served
// by exactly one successful call: results are accepted only from the call that succeeded, so an
// item is never lost and never counted twice.
//
//   auto results = Dispatch<GenerateResponse>(n_prompts, registry.Active(ROLE_ROLLOUT),
//       [&](const Worker& w, Range r) { return CallGenerate(w, prompts, r); }, &stats);
//
// Thread safety: Dispatch runs one thread per worker and returns when all have finished;
// `call` must be safe to run concurrently for different workers.
#ifndef REIN_SERVICES_COORDINATOR_SHARD_DISPATCHER_H_
#define REIN_SERVICES_COORDINATOR_SHARD_DISPATCHER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/coordinator/worker_registry.h"

namespace rein::coordinator {

// Items [begin, end) of the batch.
struct Range {
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
};

struct DispatchStats {
  int calls = 0;            // calls made, failed ones included
  int reissued_ranges = 0;  // ranges sent again after a replica failed
  std::vector<std::string> failed_workers;
  std::set<std::string> serving_workers;  // workers with at least one successful call
  // Compute time each worker reported for its successful calls (Result::seconds, when the
  // result type has it); the stage's critical path is the busiest worker.
  std::map<std::string, double> busy_seconds;
  double CriticalPathSeconds() const {
    double longest = 0;
    for (const auto& [worker, seconds] : busy_seconds) longest = std::max(longest, seconds);
    return longest;
  }
};

// A result with the compute time the worker reported for producing it (seconds).
template <typename T>
struct Timed {
  T value;
  double seconds = 0;
};

// Whether a failed call may be re-issued on another replica.
bool IsReplicaFailure(const absl::Status& status);

// The queue of ranges still to serve, shared by the worker threads of one Dispatch.
class RangeQueue {
 public:
  explicit RangeQueue(size_t items) : remaining_(items) {}

  // The next range of at most `capacity` items (re-issued ranges first). While ranges are in
  // flight elsewhere it waits, since a failure may give one back; false once all are done.
  bool Take(size_t capacity, Range* range);
  // A failed range, for another replica.
  void GiveBack(Range range);
  // Ranges handed out and not yet done or given back.
  void Done() { absl::MutexLock lock(&mu_); --in_flight_; }
  bool Empty() const;

 private:
  mutable absl::Mutex mu_;
  std::deque<Range> returned_ ABSL_GUARDED_BY(mu_);
  size_t cursor_ ABSL_GUARDED_BY(mu_) = 0;
  const size_t remaining_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

template <typename Result>
using RangeResults = std::vector<std::pair<Range, Result>>;

// Serves `items` items with `workers`. Returns one (range, result) per successful call,
// ranges disjoint and together covering [0, items), in no particular order.
template <typename Result>
absl::StatusOr<RangeResults<Result>> Dispatch(
    size_t items, const std::vector<Worker>& workers,
    const std::function<absl::StatusOr<Result>(const Worker&, Range)>& call,
    DispatchStats* stats) {
  RangeQueue queue(items);
  absl::Mutex mu;
  RangeResults<Result> results;
  absl::Status fatal;
  std::vector<std::string> failures;  // each failed replica's error
  auto serve = [&](const Worker& worker) {
    Range range;
    while (queue.Take(static_cast<size_t>(worker.capacity), &range)) {
      {
        absl::MutexLock lock(&mu);
        if (!fatal.ok()) {
          queue.GiveBack(range);
          return;
        }
        ++stats->calls;
      }
      absl::StatusOr<Result> result = call(worker, range);
      absl::MutexLock lock(&mu);
      if (result.ok()) {
        if constexpr (requires { result->seconds; }) {
          stats->busy_seconds[worker.id] += result->seconds;
        }
        results.emplace_back(range, *std::move(result));
        stats->serving_workers.insert(worker.id);
        queue.Done();
        continue;
      }
      queue.GiveBack(range);
      if (IsReplicaFailure(result.status())) {
        ++stats->reissued_ranges;
        stats->failed_workers.push_back(worker.id);
        // Named in the error should no replica be left (the status names method and worker).
        failures.push_back(std::string(result.status().message().substr(0, 300)));
      } else if (fatal.ok()) {
        fatal = result.status();
      }
      return;  // This replica serves no more of the batch.
    }
  };
  std::vector<std::thread> threads;
  for (const Worker& worker : workers) threads.emplace_back(serve, std::cref(worker));
  for (std::thread& thread : threads) thread.join();
  if (!fatal.ok()) return fatal;
  if (!queue.Empty()) {
    std::string why;
    for (const std::string& failure : failures) why += "; " + failure;
    return absl::UnavailableError("no replica left to serve the batch: " +
                                  std::to_string(workers.size()) + " tried, all failed" + why);
  }
  return results;
}

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_SHARD_DISPATCHER_H_
