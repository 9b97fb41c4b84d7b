// Optimisation helpers for the learner: AdamW with decoupled weight decay (LibTorch's
// torch::optim::AdamW), clipping by global gradient norm, warmup + cosine/linear learning-rate
// schedules, and gradient accumulation over micro-batches that gives the same update as one
// large batch.
//
// This header does not include LibTorch's optimiser headers: AdamW's per-parameter state is
// reached through AdamWParamState (for checkpoints and sharding), never through torch::optim.
#ifndef REIN_COMMON_RL_OPTIM_H_
#define REIN_COMMON_RL_OPTIM_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/rl/masked.h"

namespace torch::optim {
class AdamW;
}  // namespace torch::optim

namespace rein::rl {

struct AdamWOptions {
  // Learning rate (overridden each step by a schedule, if any). Default 1e-5.
  double lr = 1e-5;
  // Exponential decay rates of the first and second moment estimates. Defaults 0.9, 0.999.
  double beta1 = 0.9;
  double beta2 = 0.999;
  // Added to the denominator. Default 1e-8.
  double eps = 1e-8;
  // Decoupled weight decay λ (Loshchilov & Hutter 2019): before the Adam step each decayed
  // parameter shrinks by p ← p − lr·λ·p, independent of the gradient. Default 0.01.
  double weight_decay = 0.01;
  // Also decay parameters with fewer than 2 dimensions (biases, norm scales). Default false:
  // they go into a second parameter group with weight_decay 0.
  bool decay_1d_params = false;
};

// The optimiser state of one parameter: the step count and the two moment estimates, each of
// the parameter's shape, dtype and device.
struct AdamWParamState {
  int64_t step = 0;
  at::Tensor exp_avg;
  at::Tensor exp_avg_sq;
};

// AdamW over a fixed set of parameters. Owns the LibTorch optimiser and its state; the
// parameters are shared with the model (tensors are reference-counted handles).
//
// Master weights: a parameter held in bfloat16 or float16 gets a float32 master copy, which the
// optimiser updates (from the parameter's gradient, converted) and which holds the moments in
// float32 too; after each step the parameter is the master rounded to its dtype. So small
// updates accumulate instead of rounding away, as in mixed-precision training.
// Not thread-safe: one training loop drives it.
class AdamW {
 public:
  // INVALID_ARGUMENT if `params` is empty, holds an undefined or non-floating tensor or one
  // that does not require grad, or an option is out of range (lr >= 0, betas in [0, 1),
  // eps > 0, weight_decay >= 0).
  static absl::StatusOr<std::unique_ptr<AdamW>> Create(std::vector<at::Tensor> params,
                                                       const AdamWOptions& options);
  ~AdamW();
  AdamW(const AdamW&) = delete;
  AdamW& operator=(const AdamW&) = delete;

  // One update from the accumulated .grad of every parameter (parameters without a gradient
  // are skipped). A parameter with a master has its gradient consumed (cleared) by the step.
  // Errors from LibTorch come back as Status.
  absl::Status Step();
  // Clears every parameter's gradient.
  void ZeroGrad();
  // Sets the learning rate of every parameter group (from LrSchedule::LearningRate).
  void SetLearningRate(double lr);
  double learning_rate() const;
  // The parameters, decayed group first.
  const std::vector<at::Tensor>& parameters() const { return params_; }
  // The float32 master copy of parameters()[i]; undefined for a float32 (or float64) parameter,
  // which is its own master.
  const at::Tensor& master(size_t i) const { return masters_.at(i); }
  // Overwrites the master of parameters()[i] (e.g. restored from a checkpoint) and rounds it
  // into the parameter. INVALID_ARGUMENT if the parameter has no master or `value`'s shape
  // differs.
  absl::Status SetMaster(size_t i, const at::Tensor& value);
  // The state of parameters()[i] (its tensors, not copies); nullopt while it has none (before
  // its first step, or after ClearParamState). `i` must be < parameters().size().
  std::optional<AdamWParamState> ParamState(size_t i) const;
  // Replaces the state of parameters()[i] with `state` (its tensors are kept, not copied; they
  // must be of the parameter's shape and device, float32 where it has a master, else its dtype).
  void SetParamState(size_t i, AdamWParamState state);
  // Forgets the state of parameters()[i]: a later Step that reaches it starts it afresh.
  void ClearParamState(size_t i);
  // Bytes of the moment tensors held, over every parameter that has state, and of the masters.
  int64_t StateBytes() const;

 private:
  AdamW(std::vector<at::Tensor> params, std::vector<at::Tensor> masters,
        std::unique_ptr<torch::optim::AdamW> optimizer);
  // What the LibTorch optimiser updates for parameters()[i]: its master, or the parameter.
  const at::Tensor& Optimised(size_t i) const;

  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> masters_;  // parallel to params_; undefined where none
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

// Scales all gradients together so that their global L2 norm is at most max_norm:
//   n = sqrt(Σ_p ‖g_p‖²),  g_p ← g_p · min(1, max_norm / (n + 1e-6))
// and returns n (before clipping). Parameters without a gradient are skipped. If n is not finite
// the gradients are left untouched and n is returned: the caller should skip the step.
// INVALID_ARGUMENT if max_norm is not > 0.
absl::StatusOr<double> ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm);

enum class LrDecay {
  kConstant,  // peak_lr after warmup
  kLinear,    // peak → min linearly
  kCosine,    // peak → min along half a cosine
};

struct LrScheduleOptions {
  // Learning rate at the end of warmup. Default 1e-5.
  double peak_lr = 1e-5;
  // Steps of linear warmup from peak/warmup_steps up to peak. Default 0.
  int64_t warmup_steps = 0;
  // Total steps including warmup; decay ends here and the rate stays at the minimum after.
  // Must be >= warmup_steps (unused by kConstant). Default 1000.
  int64_t total_steps = 1000;
  LrDecay decay = LrDecay::kCosine;
  // Minimum as a fraction of peak, in [0, 1]. Default 0.
  double min_lr_ratio = 0.0;
};

// Learning rate at optimiser step s (0-based), W = warmup_steps, S = total_steps,
// min = min_lr_ratio·peak:
//   s < W:          peak · (s + 1) / W
//   otherwise       p = min(1, (s − W) / max(1, S − W))
//     kConstant:    peak
//     kLinear:      min + (peak − min)·(1 − p)
//     kCosine:      min + (peak − min)·½·(1 + cos(π·p))
class LrSchedule {
 public:
  // INVALID_ARGUMENT for peak_lr < 0, warmup_steps < 0, total_steps < warmup_steps or a
  // min_lr_ratio outside [0, 1].
  static absl::StatusOr<LrSchedule> Create(const LrScheduleOptions& options);
  double LearningRate(int64_t step) const;

 private:
  explicit LrSchedule(const LrScheduleOptions& options) : options_(options) {}
  LrScheduleOptions options_;
};

// The normalizer N of Aggregate for a whole batch, to pass to each of its micro-batches:
// Σ m for kTokenMean, the number of sequences with a real token for kSequenceMean. mask [B, T].
absl::StatusOr<double> GlobalNormalizer(const at::Tensor& mask, Aggregation aggregation);

// Rows [begin, end) of a batch.
struct MicroBatch {
  int64_t begin = 0;
  int64_t end = 0;
};

// Gradient accumulation. Splits rows [0, batch_size) into consecutive micro-batches of at most
// micro_batch_size rows; for each, calls micro_loss(micro_batch), which returns that slice's
// loss aggregated with the whole batch's normalizer (GlobalNormalizer, or the total pair count
// for pair losses), and back-propagates it, adding into every parameter's .grad. Because each
// loss is Σ_{slice} l / N_batch, the summed gradients equal those of the one-batch loss Σ l /
// N_batch exactly (up to float rounding), so one optimiser step afterwards gives the same update.
// Returns the summed loss (= the full-batch loss). Gradients are not zeroed first.
absl::StatusOr<double> AccumulateGradients(
    int64_t batch_size, int64_t micro_batch_size,
    absl::FunctionRef<absl::StatusOr<at::Tensor>(const MicroBatch&)> micro_loss);

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_OPTIM_H_
