#include "services/feedback/formats/answers_json.h"

#include <catch2/catch.hpp>

namespace rein::feedback {
namespace {

using Json = nlohmann::json;

const std::vector<QuestionType> kPairRateFlag = {QuestionType::kPairwise, QuestionType::kRating,
                                                 QuestionType::kFlag, QuestionType::kComment};

// A complete answer to kPairRateFlag for two responses, with `patch` merged over it.
Json Answer(const char* patch) {
  Json json = Json::parse(
      R"({"pairwise": "a", "ratings": [6, 3], "flags": [{"approved": true}, {"approved": true}]})");
  json.merge_patch(Json::parse(patch));
  return json;
}

TEST_CASE("answers round-trip through JSON") {
  Answers a;
  a.pairwise = PairwiseChoice::kBothBad;
  a.ratings = {7, 1};
  a.flags = {FlagAnswer{true, {}},
             FlagAnswer{false, {FlagCategory::kHarmful, FlagCategory::kPrivateData}}};
  a.comment = "B is rude";
  Json json = AnswersToJson(a);
  CHECK(json["pairwise"] == "both_bad");
  CHECK_FALSE(json["flags"][0].contains("categories"));
  CHECK(json["flags"][1]["categories"] == Json::array({"harmful", "private_data"}));
  CHECK_FALSE(json.contains("correction"));  // empty = not answered
  auto back = AnswersFromJson(json, 2, kPairRateFlag);
  REQUIRE(back.ok());
  CHECK(*back == a);

  Answers ranked;
  ranked.ranks = {2, 1, 2};
  ranked.correction = "Better: Paris.";
  auto ranked_back = AnswersFromJson(AnswersToJson(ranked), 3,
                                     {QuestionType::kRanking, QuestionType::kCorrection});
  REQUIRE(ranked_back.ok());
  CHECK(*ranked_back == ranked);
}

TEST_CASE("answers: the message starts with the field, which also travels as a payload") {
  auto parsed = AnswersFromJson(Answer(R"({"ratings": [6, 9]})"), 2, kPairRateFlag);
  REQUIRE(absl::IsInvalidArgument(parsed.status()));
  CHECK(parsed.status().message() == "answers.ratings[1]: 9 is outside 1..7");
  std::optional<FieldError> error = FieldErrorOf(parsed.status());
  REQUIRE(error.has_value());
  CHECK(error->field == "answers.ratings[1]");
  CHECK(error->message == "9 is outside 1..7");

  auto choice = AnswersFromJson(Answer(R"({"pairwise": "c"})"), 2, kPairRateFlag);
  CHECK(choice.status().message() == R"(answers.pairwise: "c" is not one of a, b, tie, both_bad)");
  CHECK_FALSE(FieldErrorOf(absl::InvalidArgumentError("x: y")).has_value());
  CHECK_FALSE(FieldErrorOf(absl::OkStatus()).has_value());
}

TEST_CASE("answers: every bad field is named") {
  struct Case {
    const char* patch;
    const char* field;
  };
  const Case cases[] = {
      {R"({"pairwise": null})", "answers.pairwise"},  // merge_patch null = removed: required
      {R"({"pairwise": 1})", "answers.pairwise"},
      {R"({"ratings": [1]})", "answers.ratings"},
      {R"({"ratings": "7"})", "answers.ratings"},
      {R"({"ratings": [1, 2.5]})", "answers.ratings[1]"},
      {R"({"ratings": [0, 2]})", "answers.ratings[0]"},
      {R"({"ratings": [1, 18446744073709551615]})", "answers.ratings[1]"},
      {R"({"flags": [{"approved": false}, {"approved": true}]})", "answers.flags[0].categories"},
      {R"({"flags": [{"approved": true, "categories": ["other"]}, {"approved": true}]})",
       "answers.flags[0].categories"},
      {R"({"flags": [{"approved": true}, {"approved": false, "categories": ["evil"]}]})",
       "answers.flags[1].categories[0]"},
      {R"({"flags": [{"approved": true}, {"approved": false, "categories": ["other", "other"]}]})",
       "answers.flags[1].categories[1]"},
      {R"({"flags": [{"approved": "yes"}, {"approved": true}]})", "answers.flags[0].approved"},
      {R"({"flags": [{"approved": true, "why": 1}, {"approved": true}]})", "answers.flags[0].why"},
      {R"({"flags": [true, {"approved": true}]})", "answers.flags[0]"},
      {R"({"ranks": [1, 2]})", "answers.ranks"},  // not asked
      {R"({"x": 1})", "answers.x"},
      {R"({"comment": 5})", "answers.comment"},
  };
  for (const Case& c : cases) {
    INFO(c.patch);
    auto parsed = AnswersFromJson(Answer(c.patch), 2, kPairRateFlag);
    REQUIRE(absl::IsInvalidArgument(parsed.status()));
    INFO(parsed.status().message());
    REQUIRE(FieldErrorOf(parsed.status()).has_value());
    CHECK(FieldErrorOf(parsed.status())->field == c.field);
    CHECK(parsed.status().message().rfind(std::string(c.field) + ": ", 0) == 0);
  }
  CHECK(AnswersFromJson(Answer("{}"), 2, kPairRateFlag).ok());  // comment is optional
  CHECK(FieldErrorOf(AnswersFromJson(Json::array(), 2, kPairRateFlag).status())->field ==
        "answers");
  CHECK_FALSE(AnswersFromJson(Answer("{}"), 0, kPairRateFlag).ok());
}

TEST_CASE("answers: pairwise needs two responses, ranks are 1..K in competition form") {
  const std::vector<QuestionType> ranking = {QuestionType::kRanking};
  CHECK(AnswersFromJson(Json::parse(R"({"ranks": [2, 1, 3]})"), 3, ranking).ok());
  CHECK(AnswersFromJson(Json::parse(R"({"ranks": [1, 1, 3]})"), 3, ranking).ok());
  CHECK(AnswersFromJson(Json::parse(R"({"ranks": [1, 2, 2]})"), 3, ranking).ok());
  CHECK(AnswersFromJson(Json::parse(R"({"ranks": [1, 1, 1]})"), 3, ranking).ok());
  CHECK_FALSE(AnswersFromJson(Json::parse(R"({"ranks": [1, 1, 2]})"), 3, ranking).ok());
  CHECK_FALSE(AnswersFromJson(Json::parse(R"({"ranks": [2, 2, 3]})"), 3, ranking).ok());
  CHECK_FALSE(AnswersFromJson(Json::parse(R"({"ranks": [1, 4, 2]})"), 3, ranking).ok());
  CHECK_FALSE(AnswersFromJson(Json::parse(R"({"ranks": [1, 2]})"), 3, ranking).ok());
  auto pairwise =
      AnswersFromJson(Json::parse(R"({"pairwise": "a"})"), 3, {QuestionType::kPairwise});
  REQUIRE_FALSE(pairwise.ok());
  CHECK(FieldErrorOf(pairwise.status())->field == "answers.pairwise");
}

TEST_CASE("answers: free text is bounded") {
  const std::vector<QuestionType> comment = {QuestionType::kComment, QuestionType::kCorrection};
  Json long_comment = {{"comment", std::string(kMaxCommentBytes + 1, 'x')}};
  CHECK(FieldErrorOf(AnswersFromJson(long_comment, 2, comment).status())->field ==
        "answers.comment");
  Json correction = {{"correction", std::string(kMaxCommentBytes + 1, 'x')}};
  CHECK(AnswersFromJson(correction, 2, comment).ok());  // a correction may be a long response
}

}  // namespace
}  // namespace rein::feedback
