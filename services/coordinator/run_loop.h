// The coordinator's iteration loop, synchronous mode: for each iteration take a batch of
// prompts from the dataset cursor, Generate on the rollout replicas, Score ‖ LogProbs on the
// reward and reference replicas, Train on the learner ranks, have learner rank 0 push the new
// weights to every rollout replica, and record the statistics (RunState, Prometheus).
//
// Ownership: everything passed to the constructor is borrowed and must outlive the loop.
// Thread safety: Run() runs on one thread; control (pause, stop, set) goes through RunState.
#ifndef REIN_SERVICES_COORDINATOR_RUN_LOOP_H_
#define REIN_SERVICES_COORDINATOR_RUN_LOOP_H_

#include <cstdint>
#include <map>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/data/prompt_dataset.h"
#include "services/coordinator/run_state.h"
#include "services/coordinator/stages.h"

namespace rein::coordinator {

struct RunLoopOptions {
  // Prompts per iteration, and responses sampled per prompt.
  uint32_t batch_size = 64;
  uint32_t samples_per_prompt = 1;
  rein::v1::SamplingParams sampling;
  // Seed of the run; prompt i of iteration k samples with a seed derived from (seed, k, i).
  uint64_t seed = 42;
  // Workers the run waits for before its first iteration, per role.
  std::map<rein::v1::Role, int> expected_workers;
  absl::Duration worker_wait = absl::Minutes(10);
  absl::Duration call_timeout = absl::Minutes(5);
};

class RunLoop {
 public:
  RunLoop(const RunLoopOptions& options, StageContext stages, data::PromptDataset& prompts,
          RunState& run, prometheus::Registry& metrics);

  // Waits for the expected workers, then runs iterations until the run ends (all done, or
  // stopped). Returns the first error, after marking the run FAILED with it.
  absl::Status Run();

 private:
  absl::Status RunIteration(uint64_t iteration, const rein::v1::HyperParameters& parameters);
  std::vector<PromptItem> TakePrompts(uint64_t iteration);

  const RunLoopOptions options_;
  const StageContext stages_;
  data::PromptDataset& prompts_;
  RunState& run_;
  prometheus::Family<prometheus::Histogram>& phase_seconds_;
  prometheus::Counter& iterations_;
  prometheus::Gauge& reward_mean_;
  prometheus::Gauge& tokens_per_second_;
  prometheus::Gauge& policy_version_;
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_RUN_LOOP_H_
