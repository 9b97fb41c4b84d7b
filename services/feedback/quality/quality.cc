#include "services/feedback/quality/quality.h"

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/feedback/quality/internal/answers.h"

namespace rein::feedback::quality {
namespace {

using internal::AnswerAgreement;

struct Accumulator {
  AnnotatorQuality quality;
  double agreement_sum = 0;
  std::vector<double> seconds;
};

void AddPositionBias(const Judgement& j, size_t n, PositionBias& bias) {
  if (!internal::HasPairwise(j.answers, n) || !internal::ValidShownOrder(j.shown_order, n)) return;
  const PairwiseChoice choice = *j.answers.pairwise;
  if (choice != PairwiseChoice::kA && choice != PairwiseChoice::kB) return;
  const int winner = choice == PairwiseChoice::kA ? 0 : 1;
  ++bias.decisive;
  if (j.shown_order[0] == winner) ++bias.left_wins;
}

void FinishPositionBias(PositionBias& bias) {
  if (bias.decisive > 0) {
    bias.left_win_rate = static_cast<double>(bias.left_wins) / bias.decisive;
  }
}

int MalformedAnswers(const Answers& a, size_t n) {
  int malformed = 0;
  if (a.pairwise.has_value() && !internal::HasPairwise(a, n)) ++malformed;
  if (!a.ranks.empty() && !internal::HasRanks(a, n)) ++malformed;
  if (!a.ratings.empty() && !internal::HasRatings(a, n)) ++malformed;
  if (!a.flags.empty() && !internal::HasFlags(a, n)) ++malformed;
  return malformed;
}

std::optional<double> Median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  if (values.size() % 2 == 1) return values[mid];
  return (values[mid - 1] + values[mid]) / 2;
}

// Unit of one response: the item id and the response index. The index after the last '/' is
// always an integer, so distinct (item, index) pairs never share a unit name.
std::string ResponseUnit(const std::string& item_id, size_t index) {
  return absl::StrCat(item_id, "/", index);
}

QuestionAlpha AlphaFor(QuestionType question, AlphaLevel level,
                       const std::vector<Coding>& codings) {
  QuestionAlpha out;
  out.question = question;
  out.level = level;
  absl::StatusOr<AlphaResult> result = ComputeKrippendorffAlpha(codings, level);
  if (result.ok()) {
    out.alpha = result->alpha;
    out.pairable_values = result->pairable_values;
    out.pairable_units = result->pairable_units;
  } else {
    out.unavailable = std::string(result.status().message());
  }
  return out;
}

}  // namespace

absl::StatusOr<QualityReport> ComputeQuality(const std::vector<Item>& items,
                                             const std::vector<Judgement>& judgements,
                                             const std::vector<Annotator>& annotators,
                                             const QualityOptions& options) {
  if (!(options.min_gold_accuracy >= 0 && options.min_gold_accuracy <= 1)) {
    return absl::InvalidArgumentError("min_gold_accuracy must be in [0, 1]");
  }
  if (options.min_gold_judgements < 1) {
    return absl::InvalidArgumentError("min_gold_judgements must be at least 1");
  }
  QualityReport report;
  std::map<std::string, const Item*> item_by_id;
  for (const Item& item : items) {
    if (!item_by_id.emplace(item.id, &item).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate item id '", item.id, "'"));
    }
    ++report.items;
    if (item.gold) ++report.gold_items;
  }
  std::map<std::string, Accumulator> by_annotator;  // ordered: the report is sorted by id
  for (const Annotator& a : annotators) {
    auto [it, inserted] = by_annotator.try_emplace(a.id);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate annotator id '", a.id, "'"));
    }
    it->second.quality.annotator_id = a.id;
    it->second.quality.synthetic = a.synthetic;
    it->second.quality.paused = a.paused;
  }

  // Per-judgement statistics: counts, time, gold, position bias; and the non-gold judgements
  // grouped by item for agreement and alpha.
  std::map<std::string, std::vector<const Judgement*>> non_gold_by_item;
  for (const Judgement* j : internal::CountedJudgements(judgements)) {
    auto item_it = item_by_id.find(j->item_id);
    if (item_it == item_by_id.end()) {
      ++report.unknown_item_judgements;
      continue;
    }
    const Item& item = *item_it->second;
    const size_t n = item.responses.size();
    ++report.counted_judgements;
    report.malformed_answers += MalformedAnswers(j->answers, n);

    Accumulator& acc = by_annotator[j->annotator_id];
    acc.quality.annotator_id = j->annotator_id;
    acc.quality.synthetic = acc.quality.synthetic || j->synthetic;
    ++acc.quality.judged;
    acc.seconds.push_back(j->seconds_spent);
    AddPositionBias(*j, n, acc.quality.position_bias);
    AddPositionBias(*j, n, report.position_bias);
    if (item.gold) {
      if (std::optional<double> score = AnswerAgreement(j->answers, item.gold_answer, n)) {
        ++acc.quality.gold_judged;
        acc.quality.gold_score_sum += *score;
      }
    } else {
      non_gold_by_item[item.id].push_back(j);
    }
  }

  std::vector<Coding> pairwise, ranking, rating, flag;
  for (const auto& [item_id, item_judgements] : non_gold_by_item) {
    const size_t n = item_by_id.at(item_id)->responses.size();
    // Ordered pairs: each annotator of the pair gets the pair score once. CountedJudgements
    // guarantees one judgement per annotator per item, so a != b means distinct annotators.
    for (const Judgement* a : item_judgements) {
      for (const Judgement* b : item_judgements) {
        if (a == b) continue;
        if (std::optional<double> score = AnswerAgreement(a->answers, b->answers, n)) {
          Accumulator& acc = by_annotator[a->annotator_id];
          ++acc.quality.agreement_pairs;
          acc.agreement_sum += *score;
        }
      }
    }
    for (const Judgement* j : item_judgements) {
      const Answers& ans = j->answers;
      const std::string& coder = j->annotator_id;
      if (internal::HasPairwise(ans, n)) {
        pairwise.push_back({item_id, coder, static_cast<double>(*ans.pairwise)});
      }
      for (size_t i = 0; i < n; ++i) {
        if (internal::HasRanks(ans, n))
          ranking.push_back({ResponseUnit(item_id, i), coder, static_cast<double>(ans.ranks[i])});
        if (internal::HasRatings(ans, n))
          rating.push_back({ResponseUnit(item_id, i), coder, static_cast<double>(ans.ratings[i])});
        if (internal::HasFlags(ans, n))
          flag.push_back({ResponseUnit(item_id, i), coder, ans.flags[i].approved ? 1.0 : 0.0});
      }
    }
  }
  report.alphas.push_back(AlphaFor(QuestionType::kPairwise, AlphaLevel::kNominal, pairwise));
  report.alphas.push_back(AlphaFor(QuestionType::kRanking, AlphaLevel::kOrdinal, ranking));
  report.alphas.push_back(AlphaFor(QuestionType::kRating, AlphaLevel::kOrdinal, rating));
  report.alphas.push_back(AlphaFor(QuestionType::kFlag, AlphaLevel::kNominal, flag));

  for (auto& [id, acc] : by_annotator) {
    AnnotatorQuality& q = acc.quality;
    if (q.gold_judged > 0) q.gold_accuracy = q.gold_score_sum / q.gold_judged;
    if (q.agreement_pairs > 0) q.agreement = acc.agreement_sum / q.agreement_pairs;
    q.median_seconds = Median(std::move(acc.seconds));
    FinishPositionBias(q.position_bias);
    report.annotators.push_back(std::move(q));
  }
  FinishPositionBias(report.position_bias);
  report.to_pause = AnnotatorsToPause(report.annotators, options);
  return report;
}

std::vector<std::string> AnnotatorsToPause(const std::vector<AnnotatorQuality>& annotators,
                                           const QualityOptions& options) {
  std::vector<std::string> out;
  for (const AnnotatorQuality& q : annotators) {
    if (q.paused || q.gold_judged < options.min_gold_judgements || !q.gold_accuracy) continue;
    if (*q.gold_accuracy < options.min_gold_accuracy) out.push_back(q.annotator_id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rein::feedback::quality
