#include "services/feedback/formats/answers_json.h"

#include <catch2/catch.hpp>

namespace rein::feedback {
namespace {

using Json = nlohmann::json;

const std::vector<QuestionType> kAll = {QuestionType::kPairwise, QuestionType::kRating,
                                        QuestionType::kFlag, QuestionType::kComment};

std::string FieldOf(const absl::Status& s) {
  const std::string m(s.message());
  return m.substr(0, m.find(':'));
}

TEST_CASE("answers round-trip through JSON") {
  Answers a;
  a.pairwise = PairwiseChoice::kBothBad;
  a.ratings = {7, 1};
  a.flags = {FlagAnswer{true, {}}, FlagAnswer{false, {FlagCategory::kHarmful, FlagCategory::kBiased}}};
  a.comment = "B is rude";
  auto back = AnswersFromJson(AnswersToJson(a), 2, kAll);
  REQUIRE(back.ok());
  CHECK(*back == a);
}

TEST_CASE("answers: every bad field is named") {
  struct Case {
    const char* json;
    const char* field;
  };
  const Case cases[] = {
      {R"({"ratings": [1, 2], "flags": [{"approved": true}, {"approved": true}]})", "answers.pairwise"},
      {R"({"pairwise": "x", "ratings": [1, 2], "flags": [{"approved": true}, {"approved": true}]})", "answers.pairwise"},
      {R"({"pairwise": "a", "ratings": [1, 9], "flags": [{"approved": true}, {"approved": true}]})", "answers.ratings[1]"},
      {R"({"pairwise": "a", "ratings": [1], "flags": [{"approved": true}, {"approved": true}]})", "answers.ratings"},
      {R"({"pairwise": "a", "ratings": [1, 2.5], "flags": [{"approved": true}, {"approved": true}]})", "answers.ratings[1]"},
      {R"({"pairwise": "a", "ratings": [1, 2], "flags": [{"approved": false}, {"approved": true}]})", "answers.flags[0].categories"},
      {R"({"pairwise": "a", "ratings": [1, 2], "flags": [{"approved": true}, {"approved": false, "categories": ["evil"]}]})", "answers.flags[1].categories[0]"},
      {R"({"pairwise": "a", "ratings": [1, 2], "flags": [{"approved": true}, {"approved": true}], "ranks": [1, 2]})", "answers.ranks"},
      {R"({"pairwise": "a", "ratings": [1, 2], "flags": [{"approved": true}, {"approved": true}], "x": 1})", "answers.x"},
      {R"({"pairwise": "a", "ratings": [1, 2], "flags": [{"approved": true}, {"approved": true}], "comment": 5})", "answers.comment"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    auto parsed = AnswersFromJson(Json::parse(c.json), 2, kAll);
    REQUIRE(absl::IsInvalidArgument(parsed.status()));
    CHECK(FieldOf(parsed.status()) == c.field);
  }
}

TEST_CASE("answers: ranks are 1..K with ties sharing a rank") {
  const std::vector<QuestionType> ranking = {QuestionType::kRanking};
  CHECK(AnswersFromJson(Json::parse(R"({"ranks": [2, 1, 3]})"), 3, ranking).ok());
  CHECK(AnswersFromJson(Json::parse(R"({"ranks": [1, 1, 3]})"), 3, ranking).ok());
  CHECK(AnswersFromJson(Json::parse(R"({"ranks": [1, 2, 2]})"), 3, ranking).ok());
  CHECK_FALSE(AnswersFromJson(Json::parse(R"({"ranks": [2, 2, 3]})"), 3, ranking).ok());
  CHECK_FALSE(AnswersFromJson(Json::parse(R"({"ranks": [1, 3, 3]})"), 3, ranking).ok());
  CHECK_FALSE(AnswersFromJson(Json::parse(R"({"ranks": [1, 4, 2]})"), 3, ranking).ok());
  // Pairwise needs exactly two responses.
  CHECK_FALSE(AnswersFromJson(Json::parse(R"({"pairwise": "a"})"), 3, {QuestionType::kPairwise}).ok());
}

}  // namespace
}  // namespace rein::feedback
