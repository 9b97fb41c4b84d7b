#include "services/feedback/feedback_proto.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/feedback/formats/answers_json.h"
#include "services/feedback/json_guard.h"
#include "services/feedback/store_codec.h"

namespace rein::feedback {
namespace {

rein::v1::CampaignState ToProto(CampaignState s) {
  switch (s) {
    case CampaignState::kActive: return rein::v1::CAMPAIGN_STATE_ACTIVE;
    case CampaignState::kPaused: return rein::v1::CAMPAIGN_STATE_PAUSED;
    case CampaignState::kClosed: return rein::v1::CAMPAIGN_STATE_CLOSED;
  }
  return rein::v1::CAMPAIGN_STATE_UNSPECIFIED;
}

rein::v1::AnnotatorRole ToProto(AnnotatorRole r) {
  switch (r) {
    case AnnotatorRole::kAnnotator: return rein::v1::ANNOTATOR_ROLE_ANNOTATOR;
    case AnnotatorRole::kExpert: return rein::v1::ANNOTATOR_ROLE_EXPERT;
    case AnnotatorRole::kAdmin: return rein::v1::ANNOTATOR_ROLE_ADMIN;
  }
  return rein::v1::ANNOTATOR_ROLE_UNSPECIFIED;
}

}  // namespace

rein::v1::QuestionType ToProto(QuestionType q) {
  switch (q) {
    case QuestionType::kPairwise: return rein::v1::QUESTION_TYPE_PAIRWISE;
    case QuestionType::kRanking: return rein::v1::QUESTION_TYPE_RANKING;
    case QuestionType::kRating: return rein::v1::QUESTION_TYPE_RATING;
    case QuestionType::kFlag: return rein::v1::QUESTION_TYPE_FLAG;
    case QuestionType::kComment: return rein::v1::QUESTION_TYPE_COMMENT;
    case QuestionType::kCorrection: return rein::v1::QUESTION_TYPE_CORRECTION;
  }
  return rein::v1::QUESTION_TYPE_UNSPECIFIED;
}

void ToProto(const Campaign& c, rein::v1::Campaign* out) {
  out->set_id(c.id);
  out->set_name(c.name);
  out->set_guidelines_markdown(c.guidelines_markdown);
  out->set_guideline_version(c.guideline_version);
  for (QuestionType q : c.questions) out->add_questions(ToProto(q));
  out->set_overlap(c.overlap);
  out->set_gold_rate(c.gold_rate);
  out->set_state(ToProto(c.state));
  out->set_created_us(c.created_us);
  out->set_min_role(ToProto(c.min_role));
}

void ToProto(const Annotator& a, rein::v1::Annotator* out) {
  out->set_id(a.id);
  out->set_name(a.name);
  out->set_role(ToProto(a.role));
  out->set_synthetic(a.synthetic);
  out->set_paused(a.paused);
  out->set_created_us(a.created_us);
}

absl::StatusOr<QuestionType> FromProto(rein::v1::QuestionType q, const std::string& field) {
  switch (q) {
    case rein::v1::QUESTION_TYPE_PAIRWISE: return QuestionType::kPairwise;
    case rein::v1::QUESTION_TYPE_RANKING: return QuestionType::kRanking;
    case rein::v1::QUESTION_TYPE_RATING: return QuestionType::kRating;
    case rein::v1::QUESTION_TYPE_FLAG: return QuestionType::kFlag;
    case rein::v1::QUESTION_TYPE_COMMENT: return QuestionType::kComment;
    case rein::v1::QUESTION_TYPE_CORRECTION: return QuestionType::kCorrection;
    default: return absl::InvalidArgumentError(absl::StrCat(field, ": unknown question type ",
                                                            static_cast<int>(q)));
  }
}

absl::StatusOr<CampaignState> FromProto(rein::v1::CampaignState s, const std::string& field) {
  switch (s) {
    case rein::v1::CAMPAIGN_STATE_ACTIVE: return CampaignState::kActive;
    case rein::v1::CAMPAIGN_STATE_PAUSED: return CampaignState::kPaused;
    case rein::v1::CAMPAIGN_STATE_CLOSED: return CampaignState::kClosed;
    default: return absl::InvalidArgumentError(absl::StrCat(field, ": unknown campaign state ",
                                                            static_cast<int>(s)));
  }
}

absl::StatusOr<AnnotatorRole> FromProto(rein::v1::AnnotatorRole r, const std::string& field) {
  switch (r) {
    case rein::v1::ANNOTATOR_ROLE_UNSPECIFIED:
    case rein::v1::ANNOTATOR_ROLE_ANNOTATOR: return AnnotatorRole::kAnnotator;
    case rein::v1::ANNOTATOR_ROLE_EXPERT: return AnnotatorRole::kExpert;
    case rein::v1::ANNOTATOR_ROLE_ADMIN: return AnnotatorRole::kAdmin;
    default: return absl::InvalidArgumentError(absl::StrCat(field, ": unknown role ",
                                                            static_cast<int>(r)));
  }
}

absl::StatusOr<Item> FromProto(const rein::v1::Item& in, const std::string& field) {
  Item item;
  item.external_id = in.external_id();
  item.prompt = in.prompt();
  for (const rein::v1::ChatMessage& m : in.context()) item.context.push_back({m.role(), m.content()});
  for (const rein::v1::ItemResponse& r : in.responses()) {
    Response response;
    response.text = r.text();
    response.provenance.policy_version = r.provenance().policy_version();
    response.provenance.model = r.provenance().model();
    response.provenance.seed = r.provenance().seed();
    response.provenance.sampling_json =
        r.provenance().sampling_json().empty() ? "{}" : r.provenance().sampling_json();
    response.provenance.synthetic = r.provenance().synthetic();
    item.responses.push_back(std::move(response));
  }
  item.gold = in.gold();
  if (item.gold) {
    const std::string answer_field = absl::StrCat(field, ".gold_answer_json");
    RETURN_IF_ERROR(CheckJsonDepth(in.gold_answer_json(), kMaxJsonDepth));
    nlohmann::json json = nlohmann::json::parse(in.gold_answer_json(), nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(answer_field, ": not a JSON object"));
    }
    std::vector<QuestionType> present;
    for (QuestionType q : {QuestionType::kPairwise, QuestionType::kRanking, QuestionType::kRating,
                           QuestionType::kFlag}) {
      if (json.contains(internal::AnswerKey(q))) present.push_back(q);
    }
    absl::StatusOr<Answers> answers =
        AnswersFromJson(json, static_cast<int>(item.responses.size()), present);
    if (!answers.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(answer_field, ".", answers.status().message()));
    }
    item.gold_answer = *std::move(answers);
  } else if (!in.gold_answer_json().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".gold_answer_json: set on an item that is not gold"));
  }
  return item;
}

}  // namespace rein::feedback
