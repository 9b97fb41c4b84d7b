// Annotator and question quality for one campaign of rein-feedback: gold accuracy, agreement
// between annotators, Krippendorff's alpha per question, position bias, and which annotators to
// pause. Pure functions over the data model (feedback_types.h); no store, no clock, no I/O.
// Thread safety: none needed, nothing is shared.
//
// What counts: judgements with status kSubmitted; of several that one annotator submitted for
// one item, only the latest (largest created_us). Judgements for items not passed in, and
// malformed answers (wrong length, out of range), are ignored and counted in the report.
#ifndef REIN_SERVICES_FEEDBACK_QUALITY_QUALITY_H_
#define REIN_SERVICES_FEEDBACK_QUALITY_QUALITY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/feedback/feedback_types.h"
#include "services/feedback/quality/krippendorff.h"

namespace rein::feedback::quality {

struct QualityOptions {
  // An annotator whose gold accuracy is below this is paused. In [0, 1]. Default 0.7.
  double min_gold_accuracy = 0.7;
  // ... but only once they have judged at least this many gold items, so that one unlucky
  // answer does not pause a newcomer. >= 1. Default 10.
  int min_gold_judgements = 10;
};

// Among decisive pairwise judgements (choice A or B, with a valid shown_order), how often the
// response shown on the left (shown_order[0]) won. Unbiased annotators sit near 0.5.
struct PositionBias {
  int decisive = 0;                     // decisive pairwise judgements with a valid shown_order
  int left_wins = 0;                    // of which the winner was shown at position 0
  std::optional<double> left_win_rate;  // left_wins / decisive; nullopt when decisive == 0
};

struct AnnotatorQuality {
  std::string annotator_id;
  bool synthetic = false;  // Annotator::synthetic, or any of their judgements is synthetic
  bool paused = false;     // Annotator::paused as passed in
  int judged = 0;          // counted judgements, gold and non-gold items
  // Gold judgements that could be scored (the annotator and the gold answer share a well-formed
  // question). Each scores AnswerAgreement with the gold answer, in [0, 1]:
  //   pairwise: choice equals the gold choice;
  //   ranking:  the same set of best-ranked responses (ties: the whole tied set must match);
  //   rating:   share of responses rated within +-1 of the gold rating;
  //   flag:     share of responses with the gold approved / flagged verdict;
  // averaged over the questions the judgement and the gold answer both have.
  int gold_judged = 0;
  double gold_score_sum = 0;            // sum of those scores (for priors in aggregation)
  std::optional<double> gold_accuracy;  // gold_score_sum / gold_judged; nullopt when 0
  // Agreement with others on non-gold items: over every (this annotator, other annotator, item)
  // with both judgements counted, the same per-question scores as for gold (pairwise: equal
  // choice; ranking: same best set; rating: within +-1; flag: same verdict), averaged over
  // shared questions. Others include synthetic and paused annotators.
  int agreement_pairs = 0;
  std::optional<double> agreement;       // mean pair score; nullopt when agreement_pairs == 0
  std::optional<double> median_seconds;  // of seconds_spent; nullopt when judged == 0
  PositionBias position_bias;
};

// Krippendorff's alpha of one question over non-gold items. Units: the item (pairwise, value
// a/b/tie/both_bad, nominal) or the item x response (flag: approved / flagged, nominal;
// rating: the rating, ordinal; ranking: the rank, ordinal). Coders: annotators.
struct QuestionAlpha {
  QuestionType question = QuestionType::kPairwise;
  AlphaLevel level = AlphaLevel::kNominal;
  std::optional<double> alpha;  // nullopt when undefined; see `unavailable`
  int pairable_values = 0;
  int pairable_units = 0;
  std::string unavailable;  // why alpha is nullopt (too few values, no variation); else empty
};

struct QualityReport {
  int items = 0;
  int gold_items = 0;
  int counted_judgements = 0;       // submitted, latest per (annotator, item), known item
  int unknown_item_judgements = 0;  // submitted judgements whose item was not passed in
  int malformed_answers = 0;        // (judgement, question) answers ignored as malformed
  // Every annotator passed in, plus any that only appear in judgements; sorted by id.
  std::vector<AnnotatorQuality> annotators;
  // One entry each for pairwise, ranking, rating and flag, in that order.
  std::vector<QuestionAlpha> alphas;
  PositionBias position_bias;         // over all annotators
  std::vector<std::string> to_pause;  // AnnotatorsToPause(report, options)
};

// Errors: INVALID_ARGUMENT for options out of range or duplicate item / annotator ids.
absl::StatusOr<QualityReport> ComputeQuality(const std::vector<Item>& items,
                                             const std::vector<Judgement>& judgements,
                                             const std::vector<Annotator>& annotators,
                                             const QualityOptions& options);

// The annotators to pause now: not already paused, at least options.min_gold_judgements scored
// gold judgements, and gold accuracy strictly below options.min_gold_accuracy. Sorted by id.
std::vector<std::string> AnnotatorsToPause(const std::vector<AnnotatorQuality>& annotators,
                                           const QualityOptions& options);

}  // namespace rein::feedback::quality

#endif  // REIN_SERVICES_FEEDBACK_QUALITY_QUALITY_H_
