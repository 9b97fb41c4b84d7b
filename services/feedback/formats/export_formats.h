// Export lines, in the forms the learner's loaders read as they are
// (common/data/training_examples.h): learner.mode reward-model reads pairs, rankings and
// ratings; learner.mode sft reads demonstrations. Unpaired lines are KTO-style
// {prompt|messages, completion, label}; judgement lines are for analysis.
//
// Prompt or messages. A plain item (empty Item::context) is written with "prompt". A chat item
// is written with "messages": its context, then the prompt as a final user turn unless the
// context already ends with that very user turn (an item may carry the prompt either way) or
// the prompt is empty. The loaders take "messages" with string "chosen"/"rejected", "ranked",
// "responses" in every preference form, and a trailing assistant turn for SFT.
//
// Every line is one JSON object ending in '\n'. Text is written as UTF-8; invalid UTF-8 in
// stored text is replaced by U+FFFD, never thrown on. No exception escapes.
//
// Thread safety: pure functions. Ownership: records point at items the caller keeps alive for
// the call.
#ifndef REIN_SERVICES_FEEDBACK_FORMATS_EXPORT_FORMATS_H_
#define REIN_SERVICES_FEEDBACK_FORMATS_EXPORT_FORMATS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/feedback/feedback_types.h"

namespace rein::feedback {

// {"prompt"|"messages", "chosen", "rejected", "margin"}. Indices are item order.
struct PairRecord {
  const Item* item = nullptr;
  int chosen = 0;
  int rejected = 1;
  double margin = 0;  // >= 0, finite (the learner refuses a negative margin)
};

// {"prompt"|"messages", "ranked": [best, ..., worst], "margin"}. The learner reads "ranked"
// and ignores "margin", which is kept for analysis.
struct RankingRecord {
  const Item* item = nullptr;
  std::vector<int> order_best_first;  // a permutation of the item's response indices
  double margin = 0;                  // finite
};

// {"prompt"|"messages", "responses": [...item order], "ratings": [...]}. Mean ratings are
// written as they are: the learner accepts any number (it sorts by value; equal values tie).
struct RatingRecord {
  const Item* item = nullptr;
  std::vector<double> mean_ratings;  // one per response, finite, not all equal
};

// {"prompt"|"messages", "completion", "label", "categories": [...]}; label true = approved
// (desirable), categories the flag categories (by name) the response was flagged for.
struct UnpairedRecord {
  const Item* item = nullptr;
  int response = 0;
  bool label = true;
  std::vector<FlagCategory> categories;
};

// SFT: {"prompt", "response"} or {"messages": [..., {"role": "assistant", "content": ...}]},
// plus "annotator_id" when set (the loader ignores it).
struct DemonstrationRecord {
  const Item* item = nullptr;
  std::string correction;  // non-empty
  std::string annotator_id;
};

// One line per record. INVALID_ARGUMENT when the record does not fit its item or would be
// refused by the learner: a null item, an index out of range, chosen == rejected, an order
// that is not a permutation, a ratings list of the wrong size or with all values equal, a
// non-finite or negative margin, an empty response text or correction (the learner refuses
// responses that encode to no tokens).
absl::StatusOr<std::string> ExportLine(const PairRecord& record);
absl::StatusOr<std::string> ExportLine(const RankingRecord& record);
absl::StatusOr<std::string> ExportLine(const RatingRecord& record);
absl::StatusOr<std::string> ExportLine(const UnpairedRecord& record);
absl::StatusOr<std::string> ExportLine(const DemonstrationRecord& record);

// Everything recorded about one judgement, one line:
//   {"judgement_id", "item_id", "external_id", "campaign_id", "gold",
//    "annotator_id", "annotator_name", "annotator_role", "annotator_synthetic",
//    "status", "answers" (answers_json.h, item order), "shown_order", "seconds_spent",
//    "guideline_version", "synthetic", "created_us",
//    "prompt", "context": [messages],
//    "responses": [{"text", "provenance": {"policy_version", "model", "seed", "sampling",
//                                           "synthetic"}}]}
// "sampling" is the stored sampling_json as an object, or the raw string if it is not one.
absl::StatusOr<std::string> ExportJudgementLine(const Item& item, const Judgement& judgement,
                                                const Annotator& annotator);

// Shorthands over ExportLine for callers that hold aggregate results for items they have
// validated. A record ExportLine refuses yields an empty string (no line) — use ExportLine
// where a refused record must be reported.
std::string PairLine(const Item& item, int chosen, int rejected, double margin);
std::string RankingLine(const Item& item, const std::vector<int>& order_best_first,
                        double margin = 0);
std::string RatingLine(const Item& item, const std::vector<double>& mean_ratings);
std::string UnpairedLine(const Item& item, int response, bool label,
                         const std::vector<FlagCategory>& categories);
std::string DemonstrationLine(const Item& item, const std::string& correction,
                              const std::string& annotator_id = "");
std::string JudgementLine(const Item& item, const Judgement& judgement, const Annotator& annotator);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_FORMATS_EXPORT_FORMATS_H_
