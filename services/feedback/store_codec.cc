#include "services/feedback/store_codec.h"

#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/feedback/formats/answers_json.h"

namespace rein::feedback::internal {
namespace {

using Json = nlohmann::json;

// Parses a document the store wrote itself; a failure means the store was edited by hand or is
// corrupt, which is INTERNAL (never a crash).
absl::StatusOr<Json> ParseStored(const std::string& text, const char* what) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InternalError(absl::StrCat("feedback store: unreadable ", what, " document"));
  }
  return json;
}

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string QuestionsToJson(const std::vector<QuestionType>& questions) {
  Json array = Json::array();
  for (QuestionType q : questions) array.push_back(Name(q));
  return Dump(array);
}

absl::StatusOr<std::vector<QuestionType>> QuestionsFromJson(const std::string& text) {
  ASSIGN_OR_RETURN(Json json, ParseStored(text, "questions"));
  std::vector<QuestionType> questions;
  if (!json.is_array()) return absl::InternalError("feedback store: questions is not a list");
  for (const Json& q : json) {
    std::optional<QuestionType> type =
        q.is_string() ? ParseQuestionType(q.get<std::string>()) : std::nullopt;
    if (!type) return absl::InternalError("feedback store: unknown question type");
    questions.push_back(*type);
  }
  return questions;
}

std::string ResponsesToJson(const std::vector<Response>& responses) {
  Json array = Json::array();
  for (const Response& r : responses) {
    array.push_back({{"text", r.text},
                     {"policy_version", r.provenance.policy_version},
                     {"model", r.provenance.model},
                     {"seed", r.provenance.seed},
                     {"sampling", r.provenance.sampling_json},
                     {"synthetic", r.provenance.synthetic}});
  }
  return Dump(array);
}

absl::StatusOr<std::vector<Response>> ResponsesFromJson(const std::string& text) {
  ASSIGN_OR_RETURN(Json json, ParseStored(text, "responses"));
  std::vector<Response> responses;
  if (!json.is_array()) return absl::InternalError("feedback store: responses is not a list");
  for (const Json& r : json) {
    Response response;
    response.text = r.value("text", "");
    response.provenance.policy_version = r.value("policy_version", int64_t{-1});
    response.provenance.model = r.value("model", "");
    response.provenance.seed = r.value("seed", uint64_t{0});
    response.provenance.sampling_json = r.value("sampling", "{}");
    response.provenance.synthetic = r.value("synthetic", false);
    responses.push_back(std::move(response));
  }
  return responses;
}

std::string ContextToJson(const std::vector<ChatMessage>& context) {
  Json array = Json::array();
  for (const ChatMessage& m : context) array.push_back({{"role", m.role}, {"content", m.content}});
  return Dump(array);
}

absl::StatusOr<std::vector<ChatMessage>> ContextFromJson(const std::string& text) {
  ASSIGN_OR_RETURN(Json json, ParseStored(text, "context"));
  std::vector<ChatMessage> context;
  if (!json.is_array()) return absl::InternalError("feedback store: context is not a list");
  for (const Json& m : json) context.push_back({m.value("role", ""), m.value("content", "")});
  return context;
}

std::string OrderToJson(const std::vector<int>& order) { return Dump(Json(order)); }

absl::StatusOr<std::vector<int>> OrderFromJson(const std::string& text) {
  ASSIGN_OR_RETURN(Json json, ParseStored(text, "shown order"));
  std::vector<int> order;
  if (!json.is_array()) return absl::InternalError("feedback store: shown order is not a list");
  for (const Json& v : json) {
    if (!v.is_number_integer()) return absl::InternalError("feedback store: bad shown order");
    order.push_back(v.get<int>());
  }
  return order;
}

const char* AnswerKey(QuestionType question) {
  switch (question) {
    case QuestionType::kPairwise: return "pairwise";
    case QuestionType::kRanking: return "ranks";
    case QuestionType::kRating: return "ratings";
    case QuestionType::kFlag: return "flags";
    case QuestionType::kComment: return "comment";
    case QuestionType::kCorrection: return "correction";
  }
  return "";
}

std::string StoredAnswersToJson(const Answers& answers) { return Dump(AnswersToJson(answers)); }

absl::StatusOr<Answers> StoredAnswersFromJson(const std::string& text, int num_responses) {
  ASSIGN_OR_RETURN(Json json, ParseStored(text, "answers"));
  if (!json.is_object()) return absl::InternalError("feedback store: answers is not an object");
  // Stored answers were validated against the campaign when they arrived; read back whichever
  // questions they hold.
  std::vector<QuestionType> present;
  for (QuestionType q : {QuestionType::kPairwise, QuestionType::kRanking, QuestionType::kRating,
                         QuestionType::kFlag, QuestionType::kComment, QuestionType::kCorrection}) {
    if (json.contains(AnswerKey(q))) present.push_back(q);
  }
  absl::StatusOr<Answers> answers = AnswersFromJson(json, num_responses, present);
  if (!answers.ok()) {
    return absl::InternalError(absl::StrCat("feedback store: stored answers unreadable: ",
                                            answers.status().message()));
  }
  return answers;
}

absl::StatusOr<Campaign> CampaignFromRow(const sql::Row& row) {
  Campaign c;
  c.id = row.Text(0);
  c.name = row.Text(1);
  c.guidelines_markdown = row.Text(2);
  c.guideline_version = static_cast<int>(row.Int(3));
  ASSIGN_OR_RETURN(c.questions, QuestionsFromJson(row.Text(4)));
  c.overlap = static_cast<int>(row.Int(5));
  c.gold_rate = row.Double(6);
  std::optional<CampaignState> state = ParseCampaignState(row.Text(7));
  if (!state) return absl::InternalError("feedback store: unknown campaign state");
  c.state = *state;
  c.created_us = row.Int(8);
  std::optional<AnnotatorRole> min_role = ParseAnnotatorRole(row.Text(9));
  if (!min_role) return absl::InternalError("feedback store: unknown campaign min_role");
  c.min_role = *min_role;
  return c;
}

absl::StatusOr<Item> ItemFromRow(const sql::Row& row) {
  Item item;
  item.id = row.Text(0);
  item.campaign_id = row.Text(1);
  item.external_id = row.Text(2);
  item.prompt = row.Text(3);
  ASSIGN_OR_RETURN(item.context, ContextFromJson(row.Text(4)));
  ASSIGN_OR_RETURN(item.responses, ResponsesFromJson(row.Text(5)));
  item.gold = row.Int(6) != 0;
  if (item.gold) {
    ASSIGN_OR_RETURN(item.gold_answer,
                     StoredAnswersFromJson(row.Text(7), static_cast<int>(row.Int(8))));
  }
  return item;
}

absl::StatusOr<Annotator> AnnotatorFromRow(const sql::Row& row) {
  Annotator a;
  a.id = row.Text(0);
  a.name = row.Text(1);
  std::optional<AnnotatorRole> role = ParseAnnotatorRole(row.Text(2));
  if (!role) return absl::InternalError("feedback store: unknown annotator role");
  a.role = *role;
  a.synthetic = row.Int(3) != 0;
  a.paused = row.Int(4) != 0;
  a.created_us = row.Int(5);
  return a;
}

absl::StatusOr<Judgement> JudgementFromRow(const sql::Row& row) {
  Judgement j;
  j.id = row.Text(0);
  j.item_id = row.Text(1);
  j.campaign_id = row.Text(2);
  j.annotator_id = row.Text(3);
  std::optional<JudgementStatus> status = ParseJudgementStatus(row.Text(4));
  if (!status) return absl::InternalError("feedback store: unknown judgement status");
  j.status = *status;
  if (j.status == JudgementStatus::kSubmitted) {
    ASSIGN_OR_RETURN(j.answers, StoredAnswersFromJson(row.Text(5), static_cast<int>(row.Int(11))));
  }
  ASSIGN_OR_RETURN(j.shown_order, OrderFromJson(row.Text(6)));
  j.seconds_spent = row.Double(7);
  j.guideline_version = static_cast<int>(row.Int(8));
  j.synthetic = row.Int(9) != 0;
  j.created_us = row.Int(10);
  return j;
}

absl::Status ValidateCampaign(const Campaign& spec) {
  if (spec.name.empty() || spec.name.size() > 200) {
    return absl::InvalidArgumentError("name: must be 1..200 characters");
  }
  if (spec.guidelines_markdown.size() > (1 << 20)) {
    return absl::InvalidArgumentError("guidelines_markdown: longer than 1 MiB");
  }
  if (spec.questions.empty()) {
    return absl::InvalidArgumentError("questions: at least one question is needed");
  }
  std::set<QuestionType> seen;
  bool judged = false;
  for (size_t i = 0; i < spec.questions.size(); ++i) {
    if (!seen.insert(spec.questions[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat("questions[", i, "]: '",
                                                     Name(spec.questions[i]), "' asked twice"));
    }
    judged |= spec.questions[i] != QuestionType::kComment &&
              spec.questions[i] != QuestionType::kCorrection;
  }
  if (!judged) {
    return absl::InvalidArgumentError(
        "questions: needs one of pairwise, ranking, rating or flag besides comment/correction");
  }
  if (spec.overlap < 1 || spec.overlap > 100) {
    return absl::InvalidArgumentError(absl::StrCat("overlap: ", spec.overlap, " is outside 1..100"));
  }
  if (!(spec.gold_rate >= 0.0 && spec.gold_rate < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("gold_rate: ", spec.gold_rate, " is outside [0, 1)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateItem(const Item& item, const Campaign& campaign, const std::string& field) {
  const size_t k = item.responses.size();
  if (k < 2 || k > static_cast<size_t>(kMaxResponses)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".responses: ", k, " responses; an item needs 2..", kMaxResponses));
  }
  for (QuestionType q : campaign.questions) {
    if (q == QuestionType::kPairwise && k != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".responses: a pairwise campaign needs exactly 2 responses, got ", k));
    }
  }
  if (item.prompt.empty() && item.context.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".prompt: empty (and no context)"));
  }
  constexpr size_t kMaxText = 256 << 10;
  if (item.prompt.size() > kMaxText) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".prompt: longer than 256 KiB"));
  }
  for (size_t i = 0; i < k; ++i) {
    if (item.responses[i].text.size() > kMaxText) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".responses[", i, "].text: longer than 256 KiB"));
    }
    Json sampling = Json::parse(item.responses[i].provenance.sampling_json, nullptr, false);
    if (sampling.is_discarded() || !sampling.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".responses[", i, "].provenance.sampling_json: not a JSON object"));
    }
  }
  for (size_t i = 0; i < item.context.size(); ++i) {
    const std::string& role = item.context[i].role;
    if (role != "system" && role != "user" && role != "assistant") {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".context[", i, "].role: '", role, "' is not system, user or assistant"));
    }
  }
  if (item.external_id.size() > 200) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".external_id: longer than 200"));
  }
  return absl::OkStatus();
}

}  // namespace rein::feedback::internal
