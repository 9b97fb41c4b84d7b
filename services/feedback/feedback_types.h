// The data model of rein-feedback: campaigns of items, each a prompt with 2..K responses, judged
// by annotators through the questions the campaign asks.
//
// Index convention, everywhere: an answer refers to responses by their index in
// Item::responses (item order), never by where they were shown. Judgement::shown_order records
// the screen layout: shown_order[p] is the item index of the response shown at position p
// (0 = left / top). Pairwise "A" is item response 0 and "B" item response 1.
//
// Times are unix microseconds (int64) so that every backend stores them exactly.
#ifndef REIN_SERVICES_FEEDBACK_FEEDBACK_TYPES_H_
#define REIN_SERVICES_FEEDBACK_FEEDBACK_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rein::feedback {

enum class QuestionType {
  kPairwise,    // A better / B better / tie / both bad (items with exactly 2 responses)
  kRanking,     // rank K responses, ties allowed
  kRating,      // 1..7 per response
  kFlag,        // approve, or flag with categories, per response
  kComment,     // free text
  kCorrection,  // a corrected response: a human demonstration (exported as SFT data)
};

enum class PairwiseChoice { kA, kB, kTie, kBothBad };

enum class FlagCategory { kHarmful, kBiased, kIncorrect, kUnhelpful, kPrivateData, kOther };

enum class CampaignState { kActive, kPaused, kClosed };

enum class JudgementStatus { kDraft, kSubmitted, kSkipped };

enum class AnnotatorRole { kAnnotator, kExpert, kAdmin };

// Where a response came from.
struct Provenance {
  int64_t policy_version = -1;  // -1 = unknown / not from a Rein policy
  std::string model;            // e.g. a policy folder or a model name
  uint64_t seed = 0;            // sampling seed
  std::string sampling_json = "{}";  // sampling settings as a JSON object
  bool synthetic = false;       // written by a model (true for every sampled response)
  bool operator==(const Provenance&) const = default;
};

struct Response {
  std::string text;
  Provenance provenance;
  bool operator==(const Response&) const = default;
};

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
  bool operator==(const ChatMessage&) const = default;
};

// The judgement of one response under the flag question.
struct FlagAnswer {
  bool approved = true;                 // false = flagged
  std::vector<FlagCategory> categories;  // non-empty exactly when flagged
  bool operator==(const FlagAnswer&) const = default;
};

// Everything one annotator said about one item, in item order. An unanswered question is
// empty / nullopt.
struct Answers {
  std::optional<PairwiseChoice> pairwise;
  // ranks[i]: rank of response i, 1 = best; equal ranks are ties. Empty = not answered.
  std::vector<int> ranks;
  // ratings[i]: 1..7 for response i. Empty = not answered.
  std::vector<int> ratings;
  // flags[i] for response i. Empty = not answered.
  std::vector<FlagAnswer> flags;
  std::string comment;
  std::string correction;  // a corrected response; empty = none
  bool operator==(const Answers&) const = default;
};

struct Campaign {
  std::string id;
  std::string name;
  std::string guidelines_markdown;
  int guideline_version = 1;  // bumped each time the guidelines change
  std::vector<QuestionType> questions;
  int overlap = 3;          // submitted judgements per (non-gold) item, by distinct annotators
  double gold_rate = 0.0;   // share of tasks that are gold items, in [0, 1)
  CampaignState state = CampaignState::kActive;
  int64_t created_us = 0;
  // Least role that may judge it: kAnnotator = everyone, kExpert = experts and admins
  // (kAdmin = admins only).
  AnnotatorRole min_role = AnnotatorRole::kAnnotator;
  bool operator==(const Campaign&) const = default;
};

struct Item {
  std::string id;
  std::string campaign_id;
  std::string external_id;  // the caller's id (e.g. a prompt id), may be empty
  std::string prompt;
  std::vector<ChatMessage> context;  // chat history before the responses; empty = plain prompt
  std::vector<Response> responses;   // 2..K
  bool gold = false;
  Answers gold_answer;  // the known answer of a gold item
  bool operator==(const Item&) const = default;
};

struct Annotator {
  std::string id;
  std::string name;
  AnnotatorRole role = AnnotatorRole::kAnnotator;
  bool synthetic = false;  // a scripted annotator or an AI judge
  bool paused = false;     // paused for low gold accuracy (or by an admin)
  int64_t created_us = 0;
  bool operator==(const Annotator&) const = default;
};

struct Judgement {
  std::string id;
  std::string item_id;
  std::string campaign_id;
  std::string annotator_id;
  JudgementStatus status = JudgementStatus::kSubmitted;
  Answers answers;
  std::vector<int> shown_order;  // shown_order[p] = item index of the response at position p
  double seconds_spent = 0;
  int guideline_version = 1;
  bool synthetic = false;  // from a synthetic annotator
  int64_t created_us = 0;
  bool operator==(const Judgement&) const = default;
};

// Names on the wire (JSON, proto enums, SQL); Parse* return nullopt for an unknown name.
const char* Name(QuestionType t);         // "pairwise" "ranking" "rating" "flag" "comment" "correction"
const char* Name(PairwiseChoice c);       // "a" "b" "tie" "both_bad"
const char* Name(FlagCategory c);         // "harmful" "biased" "incorrect" "unhelpful" "private_data" "other"
const char* Name(CampaignState s);        // "active" "paused" "closed"
const char* Name(JudgementStatus s);      // "draft" "submitted" "skipped"
const char* Name(AnnotatorRole r);        // "annotator" "expert" "admin"
std::optional<QuestionType> ParseQuestionType(const std::string& s);
std::optional<PairwiseChoice> ParsePairwiseChoice(const std::string& s);
std::optional<FlagCategory> ParseFlagCategory(const std::string& s);
std::optional<CampaignState> ParseCampaignState(const std::string& s);
std::optional<JudgementStatus> ParseJudgementStatus(const std::string& s);
std::optional<AnnotatorRole> ParseAnnotatorRole(const std::string& s);
// Whether `role` is at least `least` in annotator < expert < admin.
bool RoleAtLeast(AnnotatorRole role, AnnotatorRole least);

inline constexpr int kMinRating = 1;
inline constexpr int kMaxRating = 7;
inline constexpr int kMaxResponses = 16;

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_FEEDBACK_TYPES_H_
