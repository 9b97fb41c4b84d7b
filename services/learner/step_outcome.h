// What one training step reports back to the Learner, which adds the figures common to every
// mode (time, throughput, policy lag) and returns them in TrainResponse.stats.
#ifndef REIN_SERVICES_LEARNER_STEP_OUTCOME_H_
#define REIN_SERVICES_LEARNER_STEP_OUTCOME_H_

#include <cstdint>
#include <map>
#include <string>

namespace rein::learner {

// Stat names shared by several modes. Mode-specific names are spelled where they are set.
inline constexpr char kStatGradNorm[] = "grad_norm";          // policy's, before clipping
inline constexpr char kStatLearningRate[] = "learning_rate";  // of the last optimizer step
inline constexpr char kStatTokensPerSecond[] = "throughput/tokens_per_second";
inline constexpr char kStatTrainSeconds[] = "time/train_seconds";
inline constexpr char kStatOptimizerSteps[] = "optimizer_steps";  // taken by this Train

struct StepOutcome {
  std::map<std::string, double> stats;
  // Real tokens (prompt + response) that went through forward and backward, for throughput.
  int64_t tokens = 0;
  // The headline loss, KL (nats per sequence) and reward for the learner's gauges; NaN where a
  // mode has none.
  double loss = 0;
  double kl = 0;
  double reward = 0;
};

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_STEP_OUTCOME_H_
