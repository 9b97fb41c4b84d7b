#include "services/feedback/version_comparisons.h"

#include <algorithm>
#include <map>

namespace rein::feedback {

VersionComparisons CollectVersionComparisons(const CampaignData& data,
                                             const std::set<std::string>& left_out_annotators,
                                             bool include_synthetic) {
  std::map<std::string, const Item*> items;
  for (const Item& item : data.items) items[item.id] = &item;
  // (first version, second version, outcome for the first) of every counted judgement.
  struct Raw {
    int64_t first, second;
    double outcome;
  };
  std::vector<Raw> raw;
  std::set<int64_t> seen;
  for (const Judgement& j : data.judgements) {
    if (j.status != JudgementStatus::kSubmitted || !j.answers.pairwise) continue;
    if (left_out_annotators.count(j.annotator_id) > 0) continue;
    if (j.synthetic && !include_synthetic) continue;
    auto it = items.find(j.item_id);
    if (it == items.end() || it->second->gold || it->second->responses.size() != 2) continue;
    const int64_t first = it->second->responses[0].provenance.policy_version;
    const int64_t second = it->second->responses[1].provenance.policy_version;
    if (first < 0 || second < 0 || first == second) continue;
    const PairwiseChoice choice = *j.answers.pairwise;
    const double outcome = choice == PairwiseChoice::kA ? 1.0 : choice == PairwiseChoice::kB ? 0.0 : 0.5;
    raw.push_back({first, second, outcome});
    seen.insert(first);
    seen.insert(second);
  }
  VersionComparisons out;
  out.versions.assign(seen.begin(), seen.end());
  auto index = [&out](int64_t version) {
    return static_cast<int>(std::lower_bound(out.versions.begin(), out.versions.end(), version) -
                            out.versions.begin());
  };
  for (const Raw& r : raw) out.comparisons.push_back({index(r.first), index(r.second), r.outcome});
  return out;
}

absl::StatusOr<std::vector<RatedVersion>> RatePooledVersions(
    const std::vector<VersionComparisons>& campaigns, const eval::VersionRatingOptions& options) {
  std::set<int64_t> seen;
  for (const VersionComparisons& c : campaigns) seen.insert(c.versions.begin(), c.versions.end());
  const std::vector<int64_t> versions(seen.begin(), seen.end());
  std::vector<RatedVersion> rated;
  if (versions.empty()) return rated;
  auto index = [&versions](int64_t version) {
    return static_cast<int>(std::lower_bound(versions.begin(), versions.end(), version) -
                            versions.begin());
  };
  std::vector<eval::Comparison> comparisons;
  for (const VersionComparisons& c : campaigns) {
    for (const eval::Comparison& k : c.comparisons) {
      comparisons.push_back({index(c.versions[k.first]), index(c.versions[k.second]), k.outcome});
    }
  }
  absl::StatusOr<std::vector<eval::VersionRating>> table =
      eval::RateVersions(static_cast<int>(versions.size()), comparisons, options);
  if (!table.ok()) return table.status();
  for (size_t i = 0; i < versions.size(); ++i) rated.push_back({versions[i], (*table)[i]});
  return rated;
}

absl::StatusOr<std::vector<RatedVersion>> RateCampaignVersions(
    const CampaignData& data, const std::set<std::string>& left_out_annotators,
    bool include_synthetic, const eval::VersionRatingOptions& options) {
  return RatePooledVersions({CollectVersionComparisons(data, left_out_annotators, include_synthetic)},
                            options);
}

}  // namespace rein::feedback
