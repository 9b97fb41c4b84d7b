// The RL modes (ppo, grpo, rloo, reinforce++): one iteration of policy-gradient training on an
// ExperienceBatch.
//
//   1. Under no-grad, the current policy's log-probs (π_old, the ratio's anchor and the KL's
//      policy side) and, in ppo, the critic's values; "ppo/behaviour_logprob_diff" is the mean
//      |π_old − behaviour_logprobs| over response tokens (0 when rollout ran these weights).
//   2. Scores: normalised by running moments and clipped to ±ppo.reward_clip when
//      ppo.normalize_rewards, else only clipped (reward_clip 0 = off).
//   3. Token rewards and advantages (rl_advantages.h) with β = progress().kl_coef.
//   4. ppo.epochs passes; each shuffles the rows (the state's RNG) into ppo.minibatches
//      minibatches, one optimizer step each, back-propagated in micro-batches of
//      learner.micro_batch_size rows with the minibatch's token count as normaliser. Loss:
//      clipped surrogate (± ppo.clip_epsilon, dual clip), entropy bonus (ppo.entropy_coef), KL
//      loss term β·k (ppo.kl_in_reward false), and in ppo the clipped value loss
//      (ppo.value_clip) on the critic. Stops early once a minibatch's approx KL exceeds
//      ppo.early_stop_kl (> 0).
//
// Stats: "reward/mean" (raw scores), "kl/mean" (Σ_t KL per sequence, mean over sequences, nats,
// configured estimator, π_old vs reference), "entropy", "loss/policy", "loss/value" (ppo),
// "clip_fraction", "approx_kl", "grad_norm" (policy), "critic/grad_norm" (ppo),
// "learning_rate", "value/explained_variance" (ppo, critic at the start vs returns),
// "ppo/behaviour_logprob_diff", "ppo/early_stopped" (0 or 1), "optimizer_steps". Token means
// are over every micro-batch of every update.
#ifndef REIN_SERVICES_LEARNER_RL_STEP_H_
#define REIN_SERVICES_LEARNER_RL_STEP_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rein/v1/learner.pb.h"
#include "services/learner/learner_state.h"
#include "services/learner/packed_batch.h"
#include "services/learner/step_outcome.h"

namespace rein::learner {

// INVALID_ARGUMENT naming the experience for an empty batch, a bad sequence, behaviour or
// reference log-prob counts that differ from the response length, a non-finite reward or
// log-prob, and (grpo, rloo) groups of unequal size or of one response.
absl::Status ValidateExperienceBatch(config::LearnerMode mode,
                                     const rein::v1::ExperienceBatch& batch,
                                     const SequenceLimits& limits);

// Trains on a validated batch. `keep_going` (single-rank learners only: with ranks, a rank
// that stopped alone would leave the others waiting in a collective) is asked between the
// no-grad micro-batches of step 1 and once before the first update; its error ends the step
// with the weights and optimiser untouched. Once updates begin the step runs to the end, so a
// policy version is never half-trained.
absl::StatusOr<StepOutcome> RlStep(LearnerState& state, const rein::v1::ExperienceBatch& batch,
                                   const std::function<absl::Status()>& keep_going = {});

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_RL_STEP_H_
