// What `reinctl feedback` shows: the names it takes and prints for questions, states, roles and
// export options, and the tables of `status`, `campaigns` and `annotators`. Pure functions of
// rein.v1 messages, so tests can check them without a server.
#ifndef REIN_SERVICES_REINCTL_FEEDBACK_FORMAT_H_
#define REIN_SERVICES_REINCTL_FEEDBACK_FORMAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rein/v1/feedback.pb.h"

namespace rein::reinctl {

// "pairwise", "ranking", "rating", "flag", "comment", "correction" <-> QuestionType.
absl::StatusOr<rein::v1::QuestionType> ParseQuestion(absl::string_view name);
std::string QuestionName(rein::v1::QuestionType question);
// A comma-separated list ("pairwise,flag,comment"); INVALID_ARGUMENT naming an unknown entry
// or a repeated one.
absl::StatusOr<std::vector<rein::v1::QuestionType>> ParseQuestions(absl::string_view list);

// "annotator", "expert", "admin".
absl::StatusOr<rein::v1::AnnotatorRole> ParseRole(absl::string_view name);
std::string RoleName(rein::v1::AnnotatorRole role);

// "active", "paused", "closed".
std::string StateName(rein::v1::CampaignState state);

// "pairs", "rankings", "ratings", "unpaired", "sft", "judgements".
absl::StatusOr<rein::v1::ExportFormat> ParseExportFormat(absl::string_view name);
// "majority", "reliability".
absl::StatusOr<rein::v1::Aggregation> ParseAggregation(absl::string_view name);

// The human-readable status: progress, position bias, per-question alpha, per-annotator
// quality. Ends with a newline.
std::string FormatCampaignStatus(const rein::v1::CampaignStatus& status);

// The status as JSON (protobuf's mapping, proto field names, every field present), except that
// an alpha that cannot be computed yet (NaN) is left out, as feedback.proto documents.
absl::StatusOr<std::string> CampaignStatusJson(const rein::v1::CampaignStatus& status);

// One row per campaign / annotator, with a header row. Ends with a newline.
std::string FormatCampaigns(const rein::v1::ListCampaignsResponse& campaigns);
std::string FormatAnnotators(const rein::v1::ListAnnotatorsResponse& annotators);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_FEEDBACK_FORMAT_H_
