// A load client for rein-feedback: many simulated annotators, each a keep-alive HTTP client on
// its own thread, asking for a task and submitting a judgement in a loop. It records every
// acknowledged judgement (so a test can check that none is lost or stored twice after a crash)
// and the latency of each submission and each whole judgement (next + submit).
//
// Faults are part of the job: a connection error or 503 is retried with a short backoff until
// the deadline (the server may be restarting); a submission whose reply was lost is retried on
// the same lease, which the server answers with the judgement it stored the first time.
#ifndef REIN_TOOLS_FEEDBACK_LOAD_LOAD_CLIENT_H_
#define REIN_TOOLS_FEEDBACK_LOAD_LOAD_CLIENT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rein::feedback_load {

struct LoadOptions {
  std::string http_address;        // host:port of rein-feedback's HTTP API
  std::string campaign;            // campaign id
  std::vector<std::string> tokens;  // one annotator token per simulated annotator (= threads)
  absl::Duration duration = absl::Seconds(10);  // stop starting new judgements after this
  int max_judgements = 0;  // stop after this many acknowledged in all; 0 = until nothing left
  uint64_t seed = 1;
  // Offered load in judgements per second over all annotators; 0 = closed loop (each annotator
  // starts the next judgement as soon as the last is acknowledged: the saturation throughput).
  // With a rate each annotator starts judgements on a fixed schedule and latency is measured
  // from the scheduled start, so a server that falls behind is charged for the queueing too.
  double rate = 0;
};

struct Acknowledged {
  std::string lease_id;
  std::string judgement_id;
};

struct LoadResult {
  double offered_rate = 0;  // LoadOptions::rate
  int64_t judgements = 0;   // acknowledged submissions, the late ones included
  double seconds = 0;      // wall time of the run, until the last annotator stopped
  // Acknowledged by the end of LoadOptions::duration, per second of it: the throughput. A
  // judgement in flight at the deadline still counts in `judgements` (and in the latencies) but
  // not here, so requests that straggle past the end cannot stretch the denominator.
  int64_t judgements_in_window = 0;
  double judgements_per_second = 0;
  // Latency of the submit request, and of a whole judgement (next + submit), in seconds.
  double submit_p50 = 0, submit_p99 = 0, judgement_p50 = 0, judgement_p99 = 0;
  std::map<std::string, int64_t> errors;  // "http 409", "connection", ... -> count
  int64_t retried_submissions = 0;        // submissions re-sent after a lost reply
  std::vector<Acknowledged> acknowledged;
};

// Runs the load; an error only for bad options (the run's faults are counted in `errors`).
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options);

}  // namespace rein::feedback_load

#endif  // REIN_TOOLS_FEEDBACK_LOAD_LOAD_CLIENT_H_
