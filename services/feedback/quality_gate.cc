#include "services/feedback/quality_gate.h"

#include <algorithm>

#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace rein::feedback {

absl::StatusOr<bool> QualityGate::AfterGoldJudgement(const Annotator& annotator) {
  if (options_.min_gold_accuracy <= 0 || annotator.paused) return annotator.paused;
  ASSIGN_OR_RETURN(auto gold, store_->GoldJudgements(annotator.id));
  std::vector<Item> items;
  std::vector<Judgement> judgements;
  for (auto& [item, judgement] : gold) {
    items.push_back(std::move(item));
    judgements.push_back(std::move(judgement));
  }
  // The same gold item may appear in several campaigns' lists only once per item id.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.id < b.id; });
  items.erase(std::unique(items.begin(), items.end(),
                          [](const Item& a, const Item& b) { return a.id == b.id; }),
              items.end());
  ASSIGN_OR_RETURN(quality::QualityReport report,
                   quality::ComputeQuality(items, judgements, {annotator}, options_));
  if (report.to_pause.empty()) return false;
  RETURN_IF_ERROR(store_->SetAnnotatorPaused(annotator.id, true).status());
  for (const quality::AnnotatorQuality& q : report.annotators) {
    if (q.annotator_id != annotator.id) continue;
    REIN_LOG(WARNING, "quality") << "paused annotator " << annotator.name << ": gold accuracy "
                                 << q.gold_accuracy.value_or(0) << " over " << q.gold_judged
                                 << " gold items is below " << options_.min_gold_accuracy;
  }
  return true;
}

}  // namespace rein::feedback
