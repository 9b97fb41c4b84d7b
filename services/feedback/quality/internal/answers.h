// Private helpers shared by quality.cc and aggregate.cc: which judgements count, which answers
// are well formed, and how two answers to the same item are compared. Not part of the API.
#ifndef REIN_SERVICES_FEEDBACK_QUALITY_INTERNAL_ANSWERS_H_
#define REIN_SERVICES_FEEDBACK_QUALITY_INTERNAL_ANSWERS_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "services/feedback/feedback_types.h"

namespace rein::feedback::quality::internal {

// The judgements that count: status kSubmitted, and of several submitted by one annotator for
// one item only the latest (largest created_us; on equal times the later one in the input), so
// a re-submission replaces the earlier answer instead of voting twice. Pointers into
// `judgements`, in input order.
std::vector<const Judgement*> CountedJudgements(const std::vector<Judgement>& judgements);

// Well-formedness of one answer for an item with `n` responses. A malformed answer is ignored
// (the HTTP API validates on submission; this guards the statistics against old rows).
bool HasPairwise(const Answers& a, size_t n);  // answered, and the item has exactly 2 responses
bool HasRanks(const Answers& a, size_t n);     // n ranks, each in [1, n]
bool HasRatings(const Answers& a, size_t n);   // n ratings, each in [kMinRating, kMaxRating]
bool HasFlags(const Answers& a, size_t n);     // n flag answers
// shown_order is a permutation of 0..n-1.
bool ValidShownOrder(const std::vector<int>& shown_order, size_t n);

// The indices of the responses holding the best (smallest) rank. Requires a non-empty `ranks`.
std::vector<int> BestResponses(const std::vector<int>& ranks);

// How far two answers to one item agree, in [0, 1], averaged over the questions that both
// answered well formed (nullopt when there is none):
//   pairwise: 1 if the choices are equal, else 0;
//   ranking:  1 if the sets of best-ranked responses are equal, else 0;
//   rating:   share of responses whose ratings differ by at most 1;
//   flag:     share of responses with the same approved / flagged verdict (categories ignored).
// Used both for gold accuracy (b = the gold answer) and for agreement between annotators.
std::optional<double> AnswerAgreement(const Answers& a, const Answers& b, size_t n);

// Whether the judgement comes from a model: its own flag, or its annotator's.
bool IsSynthetic(const Judgement& j, const Annotator* annotator);

}  // namespace rein::feedback::quality::internal

#endif  // REIN_SERVICES_FEEDBACK_QUALITY_INTERNAL_ANSWERS_H_
