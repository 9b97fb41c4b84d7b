// Aggregation of a campaign's judgements into training data: preferences from pairwise and
// ranking answers, mean ratings, flag labels, and human corrections (demonstrations).
// Pure functions; nothing shared, so no thread-safety concerns.
//
// Which judgements vote: the counted ones (quality.h: submitted, latest per annotator and
// item) on non-gold items, minus those of paused annotators (Annotator::paused, or listed in
// QualityReport::to_pause), minus synthetic ones unless include_synthetic. Malformed answers
// are ignored.
//
// Weights. kMajority: every judgement weighs 1. kReliability: an annotator's weight is the
// log-odds of their smoothed gold accuracy,
//     p = (gold_score_sum + prior_strength * prior_accuracy) / (gold_judged + prior_strength)
//     w = ln(p / (1 - p)),  p clipped to [0.5, max_accuracy]
// so an annotator with no gold weighs as much as the prior (0.7 -> 0.85), a reliable one more,
// and one at or below chance (p <= 0.5) nothing; a vote is never inverted. (Log-odds is the
// weight of an independent voter of accuracy p in a two-way naive-Bayes vote.) Synthetic
// judgements are further multiplied by synthetic_weight.
#ifndef REIN_SERVICES_FEEDBACK_QUALITY_AGGREGATE_H_
#define REIN_SERVICES_FEEDBACK_QUALITY_AGGREGATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/feedback/feedback_types.h"
#include "services/feedback/quality/quality.h"

namespace rein::feedback::quality {

enum class AggregationMethod { kMajority, kReliability };

struct AggregateOptions {
  AggregationMethod method = AggregationMethod::kMajority;  // default: one judgement, one vote
  // Whether synthetic judgements (AI judges, scripted annotators) vote at all. Default false:
  // exports are human feedback unless asked otherwise.
  bool include_synthetic = false;
  // Multiplier on a synthetic judgement's weight when include_synthetic. >= 0. Default 1.
  double synthetic_weight = 1.0;
  // Pairwise and ranking outcomes whose margin is below this are dropped (counted in
  // dropped_low_agreement). In [0, 1]. Default 0: only ties and both-bad outcomes are dropped.
  double min_margin = 0.0;
  // kReliability prior: the accuracy assumed for an annotator without gold (default 0.7) and
  // how many gold judgements it is worth (default 5). prior_accuracy in (0, 1), strength >= 0.
  double prior_accuracy = 0.7;
  double prior_strength = 5.0;
  // kReliability clip: accuracies above this weigh as this (default 0.99 -> weight 4.6), so a
  // perfect gold record does not give one annotator unbounded weight. In (0.5, 1).
  double max_accuracy = 0.99;
};

// A pairwise preference: responses[chosen] is preferred to responses[rejected] (item indices).
// margin = (w_winner - w_loser) / w_total in (0, 1], where w_total sums every vote, ties and
// both_bad included, so that those dilute the margin: votes a, a, b -> 1/3; a, a, tie -> 2/3.
struct Preference {
  std::string item_id;
  int chosen = 0;
  int rejected = 1;
  double margin = 0;
  double weight_total = 0;  // w_total
  int votes = 0;            // judgements that voted
};

// A consensus ranking. mean_rank[i]: weighted mean rank of response i (1 = best);
// consensus_rank[i] = 1 + the number of responses with a strictly smaller mean rank, so equal
// means tie; order: response indices, best first (ties by index). margin: over every pair
// (i, j) that the consensus orders strictly, (w_agree - w_disagree) / w_total, averaged over
// those pairs; ties within a judgement count in w_total only. For two responses it equals the
// pairwise margin. Usually in (0, 1]; negative only when mean ranks contradict pairwise
// majorities, which min_margin then drops.
struct RankingConsensus {
  std::string item_id;
  std::vector<double> mean_rank;
  std::vector<int> consensus_rank;
  std::vector<int> order;
  double margin = 0;
  int votes = 0;
};

// Weighted mean rating per response, for items with at least one rating.
struct RatingMean {
  std::string item_id;
  std::vector<double> mean;
  int votes = 0;
};

// Flag labels per response. approved[i]: weighted majority of approve vs flag; an exact tie is
// flagged (a doubt about safety is resolved towards review). categories[i]: the categories
// named by more than half of the flaggers' weight of response i, whatever the label (empty when
// nobody flagged it); in FlagCategory order.
struct FlagLabel {
  std::string item_id;
  std::vector<bool> approved;
  std::vector<double> approval_share;  // w_approve / (w_approve + w_flag)
  std::vector<std::vector<FlagCategory>> categories;
  int votes = 0;
};

// A human (or, with include_synthetic, model) correction: an SFT demonstration.
struct Correction {
  std::string item_id;
  std::string annotator_id;
  std::string text;
};

struct AggregateResult {
  std::vector<Preference> preferences;  // sorted by item id, like every list here
  std::vector<RankingConsensus> rankings;
  std::vector<RatingMean> ratings;
  std::vector<FlagLabel> flags;
  std::vector<Correction> corrections;  // by item id, then annotator id
  // Pairwise items (with votes) dropped: no strict plurality of the four choices, or the
  // plurality is tie (dropped_tie); the plurality is both_bad (dropped_both_bad); margin below
  // min_margin (dropped_low_agreement, rankings included). Rankings whose consensus ties every
  // response count in dropped_tie. Items whose voters all weigh 0 count in dropped_no_weight.
  int dropped_tie = 0;
  int dropped_both_bad = 0;
  int dropped_low_agreement = 0;
  int dropped_no_weight = 0;
  int excluded_paused = 0;     // judgements left out because their annotator is paused
  int excluded_synthetic = 0;  // judgements left out because synthetic
};

// `quality` is the report over the same data (ComputeQuality): its to_pause list and, for
// kReliability, its gold statistics. Errors: INVALID_ARGUMENT for options out of range or
// duplicate item ids.
absl::StatusOr<AggregateResult> Aggregate(const std::vector<Item>& items,
                                          const std::vector<Judgement>& judgements,
                                          const std::vector<Annotator>& annotators,
                                          const QualityReport& quality,
                                          const AggregateOptions& options);

// The kReliability weight of an annotator (before synthetic_weight); see the header comment.
double ReliabilityWeight(const AnnotatorQuality& quality, const AggregateOptions& options);

}  // namespace rein::feedback::quality

#endif  // REIN_SERVICES_FEEDBACK_QUALITY_AGGREGATE_H_
