#include "services/feedback/feedback_types.h"

#include <array>
#include <utility>

namespace rein::feedback {
namespace {

// One table per enum: the wire name of each value, in declaration order.
template <typename E, size_t N>
std::optional<E> Lookup(const std::array<std::pair<E, const char*>, N>& table,
                        const std::string& s) {
  for (const auto& [value, name] : table) {
    if (s == name) return value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
const char* NameIn(const std::array<std::pair<E, const char*>, N>& table, E e) {
  for (const auto& [value, name] : table) {
    if (value == e) return name;
  }
  return "";
}

constexpr std::array<std::pair<QuestionType, const char*>, 6> kQuestions{{
    {QuestionType::kPairwise, "pairwise"},
    {QuestionType::kRanking, "ranking"},
    {QuestionType::kRating, "rating"},
    {QuestionType::kFlag, "flag"},
    {QuestionType::kComment, "comment"},
    {QuestionType::kCorrection, "correction"},
}};
constexpr std::array<std::pair<PairwiseChoice, const char*>, 4> kChoices{{
    {PairwiseChoice::kA, "a"},
    {PairwiseChoice::kB, "b"},
    {PairwiseChoice::kTie, "tie"},
    {PairwiseChoice::kBothBad, "both_bad"},
}};
constexpr std::array<std::pair<FlagCategory, const char*>, 6> kCategories{{
    {FlagCategory::kHarmful, "harmful"},
    {FlagCategory::kBiased, "biased"},
    {FlagCategory::kIncorrect, "incorrect"},
    {FlagCategory::kUnhelpful, "unhelpful"},
    {FlagCategory::kPrivateData, "private_data"},
    {FlagCategory::kOther, "other"},
}};
constexpr std::array<std::pair<CampaignState, const char*>, 3> kStates{{
    {CampaignState::kActive, "active"},
    {CampaignState::kPaused, "paused"},
    {CampaignState::kClosed, "closed"},
}};
constexpr std::array<std::pair<JudgementStatus, const char*>, 3> kStatuses{{
    {JudgementStatus::kDraft, "draft"},
    {JudgementStatus::kSubmitted, "submitted"},
    {JudgementStatus::kSkipped, "skipped"},
}};
constexpr std::array<std::pair<AnnotatorRole, const char*>, 3> kRoles{{
    {AnnotatorRole::kAnnotator, "annotator"},
    {AnnotatorRole::kExpert, "expert"},
    {AnnotatorRole::kAdmin, "admin"},
}};

}  // namespace

const char* Name(QuestionType t) { return NameIn(kQuestions, t); }
const char* Name(PairwiseChoice c) { return NameIn(kChoices, c); }
const char* Name(FlagCategory c) { return NameIn(kCategories, c); }
const char* Name(CampaignState s) { return NameIn(kStates, s); }
const char* Name(JudgementStatus s) { return NameIn(kStatuses, s); }
const char* Name(AnnotatorRole r) { return NameIn(kRoles, r); }
std::optional<QuestionType> ParseQuestionType(const std::string& s) { return Lookup(kQuestions, s); }
std::optional<PairwiseChoice> ParsePairwiseChoice(const std::string& s) { return Lookup(kChoices, s); }
std::optional<FlagCategory> ParseFlagCategory(const std::string& s) { return Lookup(kCategories, s); }
std::optional<CampaignState> ParseCampaignState(const std::string& s) { return Lookup(kStates, s); }
std::optional<JudgementStatus> ParseJudgementStatus(const std::string& s) {
  return Lookup(kStatuses, s);
}
std::optional<AnnotatorRole> ParseAnnotatorRole(const std::string& s) { return Lookup(kRoles, s); }

bool RoleAtLeast(AnnotatorRole role, AnnotatorRole least) {
  return static_cast<int>(role) >= static_cast<int>(least);
}

}  // namespace rein::feedback
