// Conversions between rein.v1 feedback messages and the data model. Every FromProto validates
// enums and names the offending field in an INVALID_ARGUMENT.
#ifndef REIN_SERVICES_FEEDBACK_FEEDBACK_PROTO_H_
#define REIN_SERVICES_FEEDBACK_FEEDBACK_PROTO_H_

#include <string>

#include "absl/status/statusor.h"
#include "rein/v1/feedback.pb.h"
#include "services/feedback/feedback_types.h"

namespace rein::feedback {

void ToProto(const Campaign& campaign, rein::v1::Campaign* out);
void ToProto(const Annotator& annotator, rein::v1::Annotator* out);
absl::StatusOr<QuestionType> FromProto(rein::v1::QuestionType question, const std::string& field);
absl::StatusOr<CampaignState> FromProto(rein::v1::CampaignState state, const std::string& field);
absl::StatusOr<AnnotatorRole> FromProto(rein::v1::AnnotatorRole role, const std::string& field);
rein::v1::QuestionType ToProto(QuestionType question);
// `questions` are the campaign's: a gold answer is parsed against what it asks.
absl::StatusOr<Item> FromProto(const rein::v1::Item& item, const std::string& field);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_FEEDBACK_PROTO_H_
