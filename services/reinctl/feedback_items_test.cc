// The add-items line format and the status table, without a server.
#include "services/reinctl/feedback_items.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/testing/subprocess.h"
#include "services/reinctl/feedback_format.h"

namespace rein::reinctl {
namespace {

using Json = nlohmann::json;

absl::StatusOr<rein::v1::Item> Parse(const char* text) { return ParseItem(Json::parse(text)); }

TEST_CASE("ParseItem takes plain and provenance responses") {
  auto plain = Parse(R"({"prompt": "p", "responses": ["a", "b"], "id": "x1"})");
  REQUIRE(plain.ok());
  CHECK(plain->prompt() == "p");
  CHECK(plain->external_id() == "x1");
  REQUIRE(plain->responses_size() == 2);
  CHECK(plain->responses(1).text() == "b");
  CHECK(plain->responses(0).provenance().policy_version() == -1);

  auto rich = Parse(R"({"prompt": "p", "responses": [
      {"text": "a", "policy_version": 3, "model": "m", "seed": 7, "sampling": {"top_p": 0.9},
       "synthetic": true}, "b"]})");
  REQUIRE(rich.ok());
  const rein::v1::Provenance& p = rich->responses(0).provenance();
  CHECK(p.policy_version() == 3);
  CHECK(p.model() == "m");
  CHECK(p.seed() == 7);
  CHECK(Json::parse(p.sampling_json()) == Json{{"top_p", 0.9}});
  CHECK(p.synthetic());
}

TEST_CASE("ParseItem gives items without an id a content hash, stable across runs") {
  auto a = Parse(R"({"prompt": "p", "responses": ["a", "b"]})");
  auto b = Parse(R"({"responses": ["a", "b"], "prompt": "p"})");
  auto c = Parse(R"({"prompt": "p", "responses": ["a", "c"]})");
  REQUIRE((a.ok() && b.ok() && c.ok()));
  CHECK(a->external_id() == b->external_id());
  CHECK(a->external_id() != c->external_id());
  CHECK(StableHash("") == 0xcbf29ce484222325ull);  // FNV-1a's offset basis
}

TEST_CASE("ParseItem takes chat context and gold answers") {
  auto chat = Parse(R"({"messages": [{"role": "system", "content": "s"},
                                     {"role": "user", "content": "u"}],
                        "responses": ["a", "b"], "gold": true,
                        "gold_answer": {"pairwise": "a"}})");
  REQUIRE(chat.ok());
  CHECK(chat->prompt() == "u");
  CHECK(chat->context_size() == 2);
  CHECK(chat->gold());
  CHECK(Json::parse(chat->gold_answer_json()) == Json{{"pairwise", "a"}});
}

TEST_CASE("ParseItem names what is wrong") {
  struct Case {
    const char* line;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"responses": ["a", "b"]})", "\"prompt\""},
           Case{R"({"prompt": "p"})", "\"responses\""},
           Case{R"({"prompt": "p", "responses": ["a"]})", "2 to 16"},
           Case{R"({"prompt": "p", "responses": ["a", 3]})", "responses[1]"},
           Case{R"({"prompt": "p", "responses": ["a", {"text": "b", "seed": -1}]})",
                "responses[1].seed"},
           Case{R"({"prompt": "p", "responses": ["a", "b"], "gold": true})", "gold_answer"},
           Case{R"({"prompt": "p", "responses": ["a", "b"], "colour": 1})", "colour"},
           Case{R"({"messages": [{"role": "bot", "content": "x"}], "responses": ["a", "b"]})",
                "messages[0].role"},
       }) {
    INFO(c.line);
    auto item = Parse(c.line);
    REQUIRE(!item.ok());
    CHECK_THAT(std::string(item.status().message()), Catch::Contains(c.message));
  }
}

TEST_CASE("ForEachJsonLine names the file and line") {
  const std::string path = testing::MakeTempDir("reinctl-feedback-items") + "/items.jsonl";
  std::ofstream(path) << "{\"a\": 1}\n\n{\"a\": \n";
  int seen = 0;
  absl::Status status = ForEachJsonLine(path, [&](const Json&, int) {
    ++seen;
    return absl::OkStatus();
  });
  CHECK(seen == 1);
  CHECK(status.message() == path + ":3: malformed JSON");
  CHECK(absl::IsNotFound(
      ForEachJsonLine(path + ".missing", [](const Json&, int) { return absl::OkStatus(); })));
}

TEST_CASE("Question lists parse and unknown names are named") {
  auto questions = ParseQuestions("pairwise, flag,comment");
  REQUIRE(questions.ok());
  CHECK(*questions == std::vector<rein::v1::QuestionType>{rein::v1::QUESTION_TYPE_PAIRWISE,
                                                          rein::v1::QUESTION_TYPE_FLAG,
                                                          rein::v1::QUESTION_TYPE_COMMENT});
  CHECK_THAT(std::string(ParseQuestions("pairwise,vibes").status().message()),
             Catch::Contains("'vibes'"));
  CHECK(!ParseQuestions("flag,flag").ok());
}

TEST_CASE("The status table shows unknown values as '-' and JSON leaves NaN alpha out") {
  rein::v1::CampaignStatus s;
  s.mutable_campaign()->set_name("round-1");
  s.set_items(3);
  rein::v1::QuestionQuality* q = s.add_questions();
  q->set_question(rein::v1::QUESTION_TYPE_PAIRWISE);
  q->set_alpha(std::numeric_limits<double>::quiet_NaN());
  q->set_level("nominal");
  rein::v1::AnnotatorQuality* a = s.add_annotators();
  a->set_name("alice");
  a->set_gold_accuracy(-1);
  a->set_agreement(0.75);
  CHECK_THAT(FormatCampaignStatus(s), !Catch::Contains("versions judged"));
  rein::v1::VersionRating* v = s.add_versions();
  v->set_policy_version(4);
  v->set_elo(87.4);
  v->set_elo_low(-12.2);
  v->set_elo_high(190.6);
  v->set_games(30);
  v->set_wins(19.5);
  const std::string table = FormatCampaignStatus(s);
  CHECK_THAT(table, Catch::Contains("round-1") && Catch::Contains("alice") &&
                        Catch::Contains("0.75") && Catch::Contains("pairwise  -"));
  CHECK_THAT(table, Catch::Contains("versions judged against each other") &&
                        Catch::Contains("v4") && Catch::Contains("+87") &&
                        Catch::Contains("[-12, +191]") && Catch::Contains("19.5"));
  auto json = CampaignStatusJson(s);
  REQUIRE(json.ok());
  const Json parsed = Json::parse(*json);
  CHECK(parsed["items"] == 3);
  CHECK(!parsed["questions"][0].contains("alpha"));
  CHECK(parsed["questions"][0]["level"] == "nominal");
}

}  // namespace
}  // namespace rein::reinctl
