// How the feedback store lays its documents out in TEXT columns (JSON) and reads rows back.
// Private to the store.
#ifndef REIN_SERVICES_FEEDBACK_STORE_CODEC_H_
#define REIN_SERVICES_FEEDBACK_STORE_CODEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sql/database.h"
#include "services/feedback/feedback_types.h"

namespace rein::feedback::internal {

std::string QuestionsToJson(const std::vector<QuestionType>& questions);
absl::StatusOr<std::vector<QuestionType>> QuestionsFromJson(const std::string& text);

std::string ResponsesToJson(const std::vector<Response>& responses);
absl::StatusOr<std::vector<Response>> ResponsesFromJson(const std::string& text);

std::string ContextToJson(const std::vector<ChatMessage>& context);
absl::StatusOr<std::vector<ChatMessage>> ContextFromJson(const std::string& text);

std::string OrderToJson(const std::vector<int>& order);
absl::StatusOr<std::vector<int>> OrderFromJson(const std::string& text);

// The key of a question in the answers JSON object ("pairwise", "ranks", "ratings", "flags",
// "comment", "correction").
const char* AnswerKey(QuestionType question);

// Answers in item order, as stored (the shape of formats/answers_json.h).
std::string StoredAnswersToJson(const Answers& answers);
// Reads stored answers back; whichever questions are present are parsed.
absl::StatusOr<Answers> StoredAnswersFromJson(const std::string& text, int num_responses);

// Column lists and row readers; each reader takes the columns of its list, in order.
inline constexpr char kCampaignColumns[] =
    "id, name, guidelines, guideline_version, questions, overlap, gold_rate, state, created_us, "
    "min_role";
absl::StatusOr<Campaign> CampaignFromRow(const sql::Row& row);

inline constexpr char kItemColumns[] =
    "id, campaign_id, external_id, prompt, context, responses, gold, gold_answer, num_responses";
absl::StatusOr<Item> ItemFromRow(const sql::Row& row);

inline constexpr char kAnnotatorColumns[] = "id, name, role, synthetic, paused, created_us";
absl::StatusOr<Annotator> AnnotatorFromRow(const sql::Row& row);

inline constexpr char kJudgementColumns[] =
    "j.id, j.item_id, j.campaign_id, j.annotator_id, j.status, j.answers, j.shown, j.seconds, "
    "j.guideline_version, j.synthetic, j.created_us, i.num_responses";
absl::StatusOr<Judgement> JudgementFromRow(const sql::Row& row);

// Checks a campaign spec; INVALID_ARGUMENT whose message starts with the field.
absl::Status ValidateCampaign(const Campaign& spec);
// Checks an item against its campaign; `field` prefixes the message ("items[3]").
absl::Status ValidateItem(const Item& item, const Campaign& campaign, const std::string& field);

}  // namespace rein::feedback::internal

#endif  // REIN_SERVICES_FEEDBACK_STORE_CODEC_H_
