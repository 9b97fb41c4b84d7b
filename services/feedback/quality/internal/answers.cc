#include "services/feedback/quality/internal/answers.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rein::feedback::quality::internal {

std::vector<const Judgement*> CountedJudgements(const std::vector<Judgement>& judgements) {
  // (annotator, item) -> position in `judgements` of the latest submitted one.
  std::map<std::pair<std::string, std::string>, size_t> latest;
  for (size_t i = 0; i < judgements.size(); ++i) {
    const Judgement& j = judgements[i];
    if (j.status != JudgementStatus::kSubmitted) continue;
    auto [it, inserted] = latest.emplace(std::make_pair(j.annotator_id, j.item_id), i);
    if (!inserted && judgements[it->second].created_us <= j.created_us) it->second = i;
  }
  std::vector<bool> keep(judgements.size(), false);
  for (const auto& [key, index] : latest) keep[index] = true;
  std::vector<const Judgement*> counted;
  for (size_t i = 0; i < judgements.size(); ++i) {
    if (keep[i]) counted.push_back(&judgements[i]);
  }
  return counted;
}

bool HasPairwise(const Answers& a, size_t n) { return a.pairwise.has_value() && n == 2; }

bool HasRanks(const Answers& a, size_t n) {
  if (n == 0 || a.ranks.size() != n) return false;
  for (int r : a.ranks) {
    if (r < 1 || static_cast<size_t>(r) > n) return false;
  }
  return true;
}

bool HasRatings(const Answers& a, size_t n) {
  if (n == 0 || a.ratings.size() != n) return false;
  for (int r : a.ratings) {
    if (r < kMinRating || r > kMaxRating) return false;
  }
  return true;
}

bool HasFlags(const Answers& a, size_t n) { return n > 0 && a.flags.size() == n; }

bool ValidShownOrder(const std::vector<int>& shown_order, size_t n) {
  if (shown_order.size() != n) return false;
  std::vector<bool> seen(n, false);
  for (int i : shown_order) {
    if (i < 0 || static_cast<size_t>(i) >= n || seen[static_cast<size_t>(i)]) return false;
    seen[static_cast<size_t>(i)] = true;
  }
  return true;
}

std::vector<int> BestResponses(const std::vector<int>& ranks) {
  int best = ranks.front();
  for (int r : ranks) best = std::min(best, r);
  std::vector<int> out;
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i] == best) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::optional<double> AnswerAgreement(const Answers& a, const Answers& b, size_t n) {
  double sum = 0;
  int questions = 0;
  if (HasPairwise(a, n) && HasPairwise(b, n)) {
    sum += *a.pairwise == *b.pairwise ? 1 : 0;
    ++questions;
  }
  if (HasRanks(a, n) && HasRanks(b, n)) {
    sum += BestResponses(a.ranks) == BestResponses(b.ranks) ? 1 : 0;
    ++questions;
  }
  if (HasRatings(a, n) && HasRatings(b, n)) {
    int close = 0;
    for (size_t i = 0; i < n; ++i) close += std::abs(a.ratings[i] - b.ratings[i]) <= 1 ? 1 : 0;
    sum += static_cast<double>(close) / static_cast<double>(n);
    ++questions;
  }
  if (HasFlags(a, n) && HasFlags(b, n)) {
    int same = 0;
    for (size_t i = 0; i < n; ++i) same += a.flags[i].approved == b.flags[i].approved ? 1 : 0;
    sum += static_cast<double>(same) / static_cast<double>(n);
    ++questions;
  }
  if (questions == 0) return std::nullopt;
  return sum / questions;
}

bool IsSynthetic(const Judgement& j, const Annotator* annotator) {
  return j.synthetic || (annotator != nullptr && annotator->synthetic);
}

}  // namespace rein::feedback::quality::internal
