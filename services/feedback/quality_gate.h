// Pauses annotators whose gold accuracy falls below the bar, right after the gold judgement
// that took them below it. Their judgements stay in the store; exports leave them out.
//
// Thread safety: safe to call concurrently (the store is; the gate holds no state).
#ifndef REIN_SERVICES_FEEDBACK_QUALITY_GATE_H_
#define REIN_SERVICES_FEEDBACK_QUALITY_GATE_H_

#include "absl/status/statusor.h"
#include "services/feedback/feedback_store.h"
#include "services/feedback/quality/quality.h"

namespace rein::feedback {

class QualityGate {
 public:
  // `store` must outlive the gate. min_gold_accuracy 0 turns pausing off.
  QualityGate(FeedbackStore* store, quality::QualityOptions options)
      : store_(store), options_(options) {}

  // Re-scores `annotator` on every gold item they judged; pauses them when below the bar.
  // Returns whether they are paused now.
  absl::StatusOr<bool> AfterGoldJudgement(const Annotator& annotator);

  const quality::QualityOptions& options() const { return options_; }

 private:
  FeedbackStore* store_;
  quality::QualityOptions options_;
};

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_QUALITY_GATE_H_
