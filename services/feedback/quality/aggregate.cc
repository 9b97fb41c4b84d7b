#include "services/feedback/quality/aggregate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/feedback/quality/internal/answers.h"

namespace rein::feedback::quality {
namespace {

constexpr int kFlagCategories = static_cast<int>(FlagCategory::kOther) + 1;

struct Vote {
  const Judgement* judgement;
  double weight;
};

absl::Status ValidateOptions(const AggregateOptions& o) {
  if (!(o.synthetic_weight >= 0) || !std::isfinite(o.synthetic_weight)) {
    return absl::InvalidArgumentError("synthetic_weight must be finite and >= 0");
  }
  if (!(o.min_margin >= 0 && o.min_margin <= 1)) {
    return absl::InvalidArgumentError("min_margin must be in [0, 1]");
  }
  if (!(o.prior_accuracy > 0 && o.prior_accuracy < 1)) {
    return absl::InvalidArgumentError("prior_accuracy must be in (0, 1)");
  }
  if (!(o.prior_strength >= 0) || !std::isfinite(o.prior_strength)) {
    return absl::InvalidArgumentError("prior_strength must be finite and >= 0");
  }
  if (!(o.max_accuracy > 0.5 && o.max_accuracy < 1)) {
    return absl::InvalidArgumentError("max_accuracy must be in (0.5, 1)");
  }
  return absl::OkStatus();
}

// Mean ranks that differ by float noise only are the same rank.
bool SameMean(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(a)); }

// The four pairwise choices in enum order: A, B, tie, both_bad.
void AggregatePairwise(const std::string& item_id, const std::vector<Vote>& votes,
                       const AggregateOptions& options, AggregateResult& out) {
  std::array<double, 4> w{};
  int count = 0;
  for (const Vote& v : votes) {
    if (!internal::HasPairwise(v.judgement->answers, 2)) continue;
    w[static_cast<size_t>(*v.judgement->answers.pairwise)] += v.weight;
    ++count;
  }
  if (count == 0) return;
  const double total = w[0] + w[1] + w[2] + w[3];
  if (!(total > 0)) {
    ++out.dropped_no_weight;
    return;
  }
  const size_t top = static_cast<size_t>(std::max_element(w.begin(), w.end()) - w.begin());
  const bool unique = std::count(w.begin(), w.end(), w[top]) == 1;
  if (!unique || top == static_cast<size_t>(PairwiseChoice::kTie)) {
    ++out.dropped_tie;
    return;
  }
  if (top == static_cast<size_t>(PairwiseChoice::kBothBad)) {
    ++out.dropped_both_bad;
    return;
  }
  Preference p;
  p.item_id = item_id;
  p.chosen = static_cast<int>(top);
  p.rejected = 1 - p.chosen;
  p.margin = (w[top] - w[1 - top]) / total;
  p.weight_total = total;
  p.votes = count;
  if (p.margin < options.min_margin) {
    ++out.dropped_low_agreement;
    return;
  }
  out.preferences.push_back(std::move(p));
}

void AggregateRanking(const std::string& item_id, size_t n, const std::vector<Vote>& votes,
                      const AggregateOptions& options, AggregateResult& out) {
  std::vector<const Vote*> ranked;
  for (const Vote& v : votes) {
    if (internal::HasRanks(v.judgement->answers, n)) ranked.push_back(&v);
  }
  if (ranked.empty()) return;
  double total = 0;
  RankingConsensus c;
  c.item_id = item_id;
  c.votes = static_cast<int>(ranked.size());
  c.mean_rank.assign(n, 0);
  for (const Vote* v : ranked) {
    total += v->weight;
    for (size_t i = 0; i < n; ++i) c.mean_rank[i] += v->weight * v->judgement->answers.ranks[i];
  }
  if (!(total > 0)) {
    ++out.dropped_no_weight;
    return;
  }
  for (double& m : c.mean_rank) m /= total;
  c.consensus_rank.assign(n, 1);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (!SameMean(c.mean_rank[j], c.mean_rank[i]) && c.mean_rank[j] < c.mean_rank[i]) {
        ++c.consensus_rank[i];
      }
    }
  }
  c.order.resize(n);
  std::iota(c.order.begin(), c.order.end(), 0);
  std::stable_sort(c.order.begin(), c.order.end(), [&c](int a, int b) {
    return c.consensus_rank[static_cast<size_t>(a)] < c.consensus_rank[static_cast<size_t>(b)];
  });
  // Margin over the pairs the consensus orders strictly (i above j).
  double margin_sum = 0;
  int strict_pairs = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (c.consensus_rank[i] >= c.consensus_rank[j]) continue;
      double agree = 0;
      double disagree = 0;
      for (const Vote* v : ranked) {
        const std::vector<int>& r = v->judgement->answers.ranks;
        if (r[i] < r[j]) agree += v->weight;
        if (r[i] > r[j]) disagree += v->weight;
      }
      margin_sum += (agree - disagree) / total;
      ++strict_pairs;
    }
  }
  if (strict_pairs == 0) {
    ++out.dropped_tie;
    return;
  }
  c.margin = margin_sum / strict_pairs;
  if (c.margin < options.min_margin) {
    ++out.dropped_low_agreement;
    return;
  }
  out.rankings.push_back(std::move(c));
}

void AggregateRatings(const std::string& item_id, size_t n, const std::vector<Vote>& votes,
                      AggregateResult& out) {
  RatingMean r;
  r.item_id = item_id;
  r.mean.assign(n, 0);
  double total = 0;
  for (const Vote& v : votes) {
    if (!internal::HasRatings(v.judgement->answers, n)) continue;
    ++r.votes;
    total += v.weight;
    for (size_t i = 0; i < n; ++i) r.mean[i] += v.weight * v.judgement->answers.ratings[i];
  }
  if (r.votes == 0) return;
  if (!(total > 0)) {
    ++out.dropped_no_weight;
    return;
  }
  for (double& m : r.mean) m /= total;
  out.ratings.push_back(std::move(r));
}

void AggregateFlags(const std::string& item_id, size_t n, const std::vector<Vote>& votes,
                    AggregateResult& out) {
  FlagLabel f;
  f.item_id = item_id;
  std::vector<double> approve(n, 0);
  std::vector<double> flag(n, 0);
  std::vector<std::array<double, kFlagCategories>> category(n);
  for (const Vote& v : votes) {
    if (!internal::HasFlags(v.judgement->answers, n)) continue;
    ++f.votes;
    for (size_t i = 0; i < n; ++i) {
      const FlagAnswer& a = v.judgement->answers.flags[i];
      if (a.approved) {
        approve[i] += v.weight;
        continue;
      }
      flag[i] += v.weight;
      // A category named twice by one flagger still counts once.
      const std::set<FlagCategory> named(a.categories.begin(), a.categories.end());
      for (FlagCategory cat : named) category[i][static_cast<size_t>(cat)] += v.weight;
    }
  }
  if (f.votes == 0) return;
  if (!(approve[0] + flag[0] > 0)) {  // every response has the same voters, hence total
    ++out.dropped_no_weight;
    return;
  }
  f.approved.resize(n);
  f.approval_share.resize(n);
  f.categories.resize(n);
  for (size_t i = 0; i < n; ++i) {
    f.approved[i] = approve[i] > flag[i];
    f.approval_share[i] = approve[i] / (approve[i] + flag[i]);
    for (int cat = 0; cat < kFlagCategories; ++cat) {
      if (flag[i] > 0 && category[i][static_cast<size_t>(cat)] > flag[i] / 2) {
        f.categories[i].push_back(static_cast<FlagCategory>(cat));
      }
    }
  }
  out.flags.push_back(std::move(f));
}

}  // namespace

double ReliabilityWeight(const AnnotatorQuality& quality, const AggregateOptions& options) {
  const double denominator = quality.gold_judged + options.prior_strength;
  double p = options.prior_accuracy;
  if (denominator > 0) {
    p = (quality.gold_score_sum + options.prior_strength * options.prior_accuracy) / denominator;
  }
  p = std::clamp(p, 0.5, options.max_accuracy);
  return std::log(p / (1 - p));
}

absl::StatusOr<AggregateResult> Aggregate(const std::vector<Item>& items,
                                          const std::vector<Judgement>& judgements,
                                          const std::vector<Annotator>& annotators,
                                          const QualityReport& quality,
                                          const AggregateOptions& options) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  std::map<std::string, const Item*> item_by_id;
  for (const Item& item : items) {
    if (!item_by_id.emplace(item.id, &item).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate item id '", item.id, "'"));
    }
  }
  std::map<std::string, const Annotator*> annotator_by_id;
  std::set<std::string> paused(quality.to_pause.begin(), quality.to_pause.end());
  for (const Annotator& a : annotators) {
    annotator_by_id[a.id] = &a;
    if (a.paused) paused.insert(a.id);
  }
  std::map<std::string, const AnnotatorQuality*> quality_by_id;
  for (const AnnotatorQuality& q : quality.annotators) quality_by_id[q.annotator_id] = &q;
  const AnnotatorQuality no_record;  // no gold: the prior alone

  AggregateResult out;
  std::map<std::string, std::vector<Vote>> votes_by_item;  // ordered: output sorted by item
  for (const Judgement* j : internal::CountedJudgements(judgements)) {
    auto item_it = item_by_id.find(j->item_id);
    if (item_it == item_by_id.end() || item_it->second->gold) continue;
    if (paused.count(j->annotator_id) > 0) {
      ++out.excluded_paused;
      continue;
    }
    auto annotator_it = annotator_by_id.find(j->annotator_id);
    const bool synthetic = internal::IsSynthetic(
        *j, annotator_it == annotator_by_id.end() ? nullptr : annotator_it->second);
    if (synthetic && !options.include_synthetic) {
      ++out.excluded_synthetic;
      continue;
    }
    double weight = 1;
    if (options.method == AggregationMethod::kReliability) {
      auto q = quality_by_id.find(j->annotator_id);
      weight = ReliabilityWeight(q == quality_by_id.end() ? no_record : *q->second, options);
    }
    if (synthetic) weight *= options.synthetic_weight;
    votes_by_item[j->item_id].push_back({j, weight});
  }

  for (const auto& [item_id, votes] : votes_by_item) {
    const size_t n = item_by_id.at(item_id)->responses.size();
    if (n == 2) AggregatePairwise(item_id, votes, options, out);
    AggregateRanking(item_id, n, votes, options, out);
    AggregateRatings(item_id, n, votes, out);
    AggregateFlags(item_id, n, votes, out);
    std::vector<Correction> corrections;
    for (const Vote& v : votes) {
      if (!v.judgement->answers.correction.empty()) {
        corrections.push_back(
            {item_id, v.judgement->annotator_id, v.judgement->answers.correction});
      }
    }
    std::sort(corrections.begin(), corrections.end(), [](const Correction& a, const Correction& b) {
      return a.annotator_id < b.annotator_id;
    });
    for (Correction& c : corrections) out.corrections.push_back(std::move(c));
  }
  return out;
}

}  // namespace rein::feedback::quality
