// Preference learning for the reward model: Bradley–Terry pairwise loss with margins and ties,
// Plackett–Luce and all-pairs losses for K-wise rankings, turning ratings into pairs, a binary
// loss for unpaired approve/flag feedback, and accuracy/calibration statistics.
//
// Inputs are reward-model scores (with autograd graph), one per response. The pairwise forms
// take [N] tensors for N comparisons; the list forms take [N, K]: N prompts with K responses
// each, in rank order (column 0 the most preferred), and an optional valid mask [N, K]
// (1 = a response present; lists may have fewer than K).
#ifndef REIN_COMMON_RL_PREFERENCE_H_
#define REIN_COMMON_RL_PREFERENCE_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::rl {

// N pairwise comparisons scored by the reward model.
struct PreferencePairs {
  // [N] score of the preferred response (for a tie, either one). Required.
  at::Tensor chosen = {};
  // [N] score of the other response. Required.
  at::Tensor rejected = {};
  // [N] required score gap m >= 0 (Touvron et al. 2023). Optional: no margin.
  at::Tensor margin = {};
  // [N] bool or 0/1: the annotator judged the two equal. Optional: no ties.
  at::Tensor tie = {};
};

// Bradley–Terry negative log-likelihood, with d = chosen − rejected:
//   not a tie:  l = −log σ(d − m)
//   tie:        l = −½·[log σ(d) + log σ(−d)]   (soft label ½; minimal at d = 0; margin unused)
// Result Σ l / N (or / normalizer when > 0, for gradient accumulation), 0-dim, with graph.
absl::StatusOr<at::Tensor> BradleyTerryLoss(const PreferencePairs& pairs,
                                            double normalizer = 0.0);

// Plackett–Luce list-wise negative log-likelihood of each ranking:
//   l_n = −Σ_{k valid} [s_k − log Σ_{j >= k, j valid} exp(s_j)]
// averaged over lists with at least two valid items (or / normalizer when > 0). With K = 2 it
// equals BradleyTerryLoss(chosen = s_0, rejected = s_1). scores [N, K] in rank order; valid
// [N, K] optional (undefined = all valid). Ties inside a ranking are not modelled: break them or
// pass the pair as a tie to BradleyTerryLoss.
absl::StatusOr<at::Tensor> PlackettLuceLoss(const at::Tensor& scores,
                                            const at::Tensor& valid = {},
                                            double normalizer = 0.0);

// A ranking as all its C(K, 2) pairs (InstructGPT, Ouyang et al. 2022):
//   l = Σ_n Σ_{i<j, both valid} −log σ(s_i − s_j) / P
// with P the number of valid pairs (or normalizer when > 0). scores [N, K] in rank order; valid
// [N, K] optional.
absl::StatusOr<at::Tensor> AllPairsBradleyTerryLoss(const at::Tensor& scores,
                                                    const at::Tensor& valid = {},
                                                    double normalizer = 0.0);

// Binary cross-entropy of unpaired feedback (one response judged on its own: approved or
// flagged) on the reward itself, reading σ(r) as the probability that the response is approved
// (binary reward modelling, as KTO's desirable/undesirable data):
//   l = −[y·log σ(r) + (1 − y)·log σ(−r)]        (log(1 − σ(r)) = log σ(−r), exact for large |r|)
// scores [N] floating with graph; labels [N] bool or 0/1 (1 = approved). Result Σ l / N (or
// / normalizer when > 0, so that it adds to the other losses of one mean), 0-dim, with graph.
absl::StatusOr<at::Tensor> BinaryRewardLoss(const at::Tensor& scores, const at::Tensor& labels,
                                            double normalizer = 0.0);

struct RatingPairOptions {
  // Pairs whose rating gap |g| <= tie_threshold are ties. Default 0 (only equal ratings).
  double tie_threshold = 0.0;
  // Keep tie pairs (marked in `tie`); false drops them. Default true.
  bool keep_ties = true;
  // margin = margin_scale·|g| for non-tie pairs (Llama 2's margin from the rating gap);
  // 0 gives no margin. Default 0.
  double margin_scale = 0.0;
};

// Pairs made from ratings: indices are flat (n·K + k) into the [N, K] ratings, so the reward
// model's scores s [N, K] give chosen = s.reshape(-1).index_select(0, chosen_index).
struct RatingPairs {
  at::Tensor chosen_index = {};    // [P] int64: the higher-rated response (first of a tie)
  at::Tensor rejected_index = {};  // [P] int64
  at::Tensor margin = {};          // [P] float64, margin_scale·|gap| (0 for ties)
  at::Tensor tie = {};             // [P] bool
};

// Turns per-prompt ratings into comparisons: for every prompt n and valid i < j with gap
// g = r_i − r_j, one pair (higher → chosen), a tie when |g| <= tie_threshold. ratings [N, K]
// floating (K responses per prompt, e.g. Likert scores), valid [N, K] optional. CPU work;
// results on CPU.
absl::StatusOr<RatingPairs> RatingsToPairs(const at::Tensor& ratings, const at::Tensor& valid,
                                           const RatingPairOptions& options = {});

// One reliability bin of the predicted preference probability's confidence.
struct CalibrationBin {
  double lower = 0;            // confidence range [lower, upper)
  double upper = 0;
  int64_t count = 0;           // non-tie pairs whose confidence falls here
  double mean_confidence = 0;  // mean of max(p, 1 − p)
  double accuracy = 0;         // fraction where the prediction (p > ½) was right
};

struct PreferenceStats {
  int64_t pairs = 0;        // all pairs
  int64_t ties = 0;         // tie pairs
  double accuracy = 0;      // non-tie pairs with chosen > rejected (equal scores count ½)
  double mean_gap = 0;      // mean of chosen − rejected over non-tie pairs
  double log_loss = 0;      // BradleyTerryLoss over all pairs, margins ignored
  double brier = 0;         // mean (p − y)², p = σ(d), y = 1 (½ for ties)
  double ece = 0;           // Σ_b (count_b / n)·|accuracy_b − mean_confidence_b|
  // num_bins equal-width bins over confidence [½, 1].
  std::vector<CalibrationBin> bins = {};
};

// Accuracy and calibration of reward-model scores on comparisons. The predicted probability that
// chosen wins is p = σ(chosen − rejected); for calibration its confidence is max(p, 1 − p) and the
// prediction is right when p > ½ (half right at p = ½). margin is ignored. num_bins >= 1.
absl::StatusOr<PreferenceStats> ComputePreferenceStats(const PreferencePairs& pairs,
                                                       int num_bins = 10);

}  // namespace rein::rl

#endif  // REIN_COMMON_RL_PREFERENCE_H_
