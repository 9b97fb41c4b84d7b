// Pairwise judgements between responses of different policy versions, as the comparisons that
// common/eval rates: the "is this round's policy better than the last one?" view of a campaign.
//
// A judgement counts when it is submitted, pairwise, on a non-gold item whose two responses carry
// known (>= 0) and different policy versions, and its annotator is not left out (paused
// annotators; synthetic ones unless asked for). "a" (item order) is a win for the first
// response's version, "b" for the second's; tie and both-bad count as ties.
//
// Thread safety: plain functions.
#ifndef REIN_SERVICES_FEEDBACK_VERSION_COMPARISONS_H_
#define REIN_SERVICES_FEEDBACK_VERSION_COMPARISONS_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eval/version_ratings.h"
#include "services/feedback/feedback_store.h"

namespace rein::feedback {

struct VersionComparisons {
  std::vector<int64_t> versions;               // ascending; index = eval version index
  std::vector<eval::Comparison> comparisons;   // first/second index `versions`
};

VersionComparisons CollectVersionComparisons(const CampaignData& data,
                                             const std::set<std::string>& left_out_annotators,
                                             bool include_synthetic);

struct RatedVersion {
  int64_t policy_version = -1;
  eval::VersionRating rating;  // Elo relative to the lowest version compared
};

// The versions of several campaigns' comparisons rated together (empty when there is none).
absl::StatusOr<std::vector<RatedVersion>> RatePooledVersions(
    const std::vector<VersionComparisons>& campaigns, const eval::VersionRatingOptions& options = {});

// The campaign's versions rated against each other (empty when no judgement compares two).
absl::StatusOr<std::vector<RatedVersion>> RateCampaignVersions(
    const CampaignData& data, const std::set<std::string>& left_out_annotators,
    bool include_synthetic, const eval::VersionRatingOptions& options = {});

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_VERSION_COMPARISONS_H_
