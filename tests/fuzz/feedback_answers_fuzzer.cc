// rein-feedback's answers object (services/feedback/formats/answers_json.h). The first byte
// picks the number of responses (1..kMaxResponses), the second the questions asked (one bit per
// QuestionType); the rest is the JSON body, refused (as the HTTP API does) when it nests deeper
// than the API allows. Answers either parse or are INVALID_ARGUMENT carrying the field path; parsed
// answers render (AnswersToJson) to JSON that parses back equal.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "services/feedback/formats/answers_json.h"
#include "services/feedback/formats/internal/json_depth.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using rein::feedback::QuestionType;

// services/feedback/json_guard.h's kMaxJsonDepth, the HTTP API's limit.
constexpr int kMaxDepth = 32;

std::vector<QuestionType> Asked(uint8_t mask) {
  std::vector<QuestionType> asked;
  for (QuestionType q : {QuestionType::kPairwise, QuestionType::kRanking, QuestionType::kRating,
                         QuestionType::kFlag, QuestionType::kComment, QuestionType::kCorrection}) {
    if (mask & (1u << static_cast<int>(q))) asked.push_back(q);
  }
  return asked;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return -1;
  const int num_responses = 1 + data[0] % rein::feedback::kMaxResponses;
  const std::vector<QuestionType> asked = Asked(data[1]);
  const absl::string_view body = rein::fuzz::AsText(data + 2, size - 2);
  if (rein::feedback::internal::JsonDeeperThan(body, kMaxDepth)) return 0;
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;

  absl::StatusOr<rein::feedback::Answers> answers =
      rein::feedback::AnswersFromJson(json, num_responses, asked);
  if (!answers.ok()) {
    FUZZ_CHECK(answers.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(rein::feedback::FieldErrorOf(answers.status()).has_value());
    return 0;
  }
  absl::StatusOr<rein::feedback::Answers> again = rein::feedback::AnswersFromJson(
      rein::feedback::AnswersToJson(*answers), num_responses, asked);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *answers);
  return 0;
}
