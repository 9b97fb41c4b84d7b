#include "services/feedback/formats/answers_json.h"

#include <algorithm>
#include <cstdint>
#include <exception>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status/status_macros.h"

namespace rein::feedback {
namespace {

using Json = nlohmann::json;

absl::Status Bad(const std::string& field, absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
  status.SetPayload(kFieldPayloadUrl, absl::Cord(field));
  return status;
}

// A JSON value as the user wrote it, for messages ("c", 9, [1]); invalid UTF-8 replaced.
std::string Shown(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

bool Asks(const std::vector<QuestionType>& asked, QuestionType q) {
  return std::find(asked.begin(), asked.end(), q) != asked.end();
}

// json[i] as an integer in [lo, hi]. Unsigned values are read as such so that a huge number is
// reported as itself, not wrapped into a negative one.
absl::StatusOr<int> IntIn(const Json& value, const std::string& field, int lo, int hi) {
  if (!value.is_number_integer())
    return Bad(field, absl::StrCat(Shown(value), " is not an integer"));
  const bool in_range = value.is_number_unsigned()
                            ? value.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                  value.get<uint64_t>() >= static_cast<uint64_t>(std::max(lo, 0))
                            : value.get<int64_t>() >= lo && value.get<int64_t>() <= hi;
  if (!in_range) return Bad(field, absl::StrCat(Shown(value), " is outside ", lo, "..", hi));
  return static_cast<int>(value.get<int64_t>());
}

// A list of exactly `k` values, one per response.
absl::Status CheckList(const Json& json, const std::string& field, int k) {
  if (!json.is_array()) return Bad(field, "must be a list, one value per response");
  if (json.size() != static_cast<size_t>(k)) {
    return Bad(field, absl::StrCat(json.size(), " values for ", k, " responses"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> IntList(const Json& json, const std::string& field, int k, int lo,
                                         int hi) {
  RETURN_IF_ERROR(CheckList(json, field, k));
  std::vector<int> out;
  for (size_t i = 0; i < json.size(); ++i) {
    ASSIGN_OR_RETURN(int v, IntIn(json[i], absl::StrCat(field, "[", i, "]"), lo, hi));
    out.push_back(v);
  }
  return out;
}

// Standard competition ranking: sorted, the value at i is i + 1 or repeats the one before.
absl::Status CheckCompetitionRanks(const std::vector<int>& ranks, const std::string& field) {
  std::vector<int> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != static_cast<int>(i) + 1 && (i == 0 || sorted[i] != sorted[i - 1])) {
      return Bad(field,
                 "ties share a rank and the next rank skips them (1 1 3 or 1 2 2, not 1 1 2)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FlagAnswer> ParseFlag(const Json& json, const std::string& field) {
  if (!json.is_object()) return Bad(field, "must be an object {\"approved\": ...}");
  for (const auto& [key, value] : json.items()) {
    if (key != "approved" && key != "categories") return Bad(field + "." + key, "unknown field");
  }
  auto approved = json.find("approved");
  if (approved == json.end() || !approved->is_boolean()) {
    return Bad(field + ".approved", "must be true or false");
  }
  FlagAnswer flag;
  flag.approved = approved->get<bool>();
  if (auto categories = json.find("categories"); categories != json.end()) {
    if (!categories->is_array()) return Bad(field + ".categories", "must be a list");
    for (size_t i = 0; i < categories->size(); ++i) {
      const Json& name = (*categories)[i];
      const std::string at = absl::StrCat(field, ".categories[", i, "]");
      std::optional<FlagCategory> c =
          name.is_string() ? ParseFlagCategory(name.get<std::string>()) : std::nullopt;
      if (!c) {
        return Bad(at, absl::StrCat(Shown(name),
                                    " is not one of harmful, biased, incorrect, "
                                    "unhelpful, private_data, other"));
      }
      if (std::find(flag.categories.begin(), flag.categories.end(), *c) != flag.categories.end()) {
        return Bad(at, absl::StrCat(Shown(name), " is listed twice"));
      }
      flag.categories.push_back(*c);
    }
  }
  if (flag.approved && !flag.categories.empty()) {
    return Bad(field + ".categories", "an approved response has no flag categories");
  }
  if (!flag.approved && flag.categories.empty()) {
    return Bad(field + ".categories", "a flagged response needs at least one category");
  }
  return flag;
}

absl::StatusOr<std::string> Text(const Json& json, const std::string& field, size_t max_bytes) {
  if (!json.is_string()) return Bad(field, absl::StrCat(Shown(json), " is not a string"));
  std::string text = json.get<std::string>();
  if (text.size() > max_bytes) {
    return Bad(field, absl::StrCat("longer than ", max_bytes >> 10, " KiB"));
  }
  return text;
}

struct Key {
  const char* name;
  QuestionType question;
};
constexpr Key kKeys[] = {
    {"pairwise", QuestionType::kPairwise}, {"ranks", QuestionType::kRanking},
    {"ratings", QuestionType::kRating},    {"flags", QuestionType::kFlag},
    {"comment", QuestionType::kComment},   {"correction", QuestionType::kCorrection}};

absl::StatusOr<Answers> Parse(const Json& json, int k, const std::vector<QuestionType>& asked) {
  if (!json.is_object()) return Bad("answers", "must be an object");
  if (k < 1 || k > kMaxResponses) {
    return Bad("answers", absl::StrCat("an item has 1..", kMaxResponses, " responses, not ", k));
  }
  for (const auto& [key, value] : json.items()) {
    const Key* known = nullptr;
    for (const Key& candidate : kKeys) {
      if (key == candidate.name) known = &candidate;
    }
    if (known == nullptr) return Bad("answers." + key, "unknown field");
    if (!Asks(asked, known->question)) {
      return Bad("answers." + key, "the campaign does not ask this question");
    }
  }
  for (const Key& key : kKeys) {
    const bool optional =
        key.question == QuestionType::kComment || key.question == QuestionType::kCorrection;
    if (Asks(asked, key.question) && !optional && !json.contains(key.name)) {
      return Bad(absl::StrCat("answers.", key.name), "required");
    }
  }
  Answers a;
  if (auto p = json.find("pairwise"); p != json.end()) {
    std::optional<PairwiseChoice> choice =
        p->is_string() ? ParsePairwiseChoice(p->get<std::string>()) : std::nullopt;
    if (!choice) {
      return Bad("answers.pairwise", absl::StrCat(Shown(*p), " is not one of a, b, tie, both_bad"));
    }
    if (k != 2) {
      return Bad("answers.pairwise",
                 absl::StrCat("only for items with 2 responses; this one has ", k));
    }
    a.pairwise = *choice;
  }
  if (auto ranks = json.find("ranks"); ranks != json.end()) {
    ASSIGN_OR_RETURN(a.ranks, IntList(*ranks, "answers.ranks", k, 1, k));
    RETURN_IF_ERROR(CheckCompetitionRanks(a.ranks, "answers.ranks"));
  }
  if (auto ratings = json.find("ratings"); ratings != json.end()) {
    ASSIGN_OR_RETURN(a.ratings, IntList(*ratings, "answers.ratings", k, kMinRating, kMaxRating));
  }
  if (auto flags = json.find("flags"); flags != json.end()) {
    RETURN_IF_ERROR(CheckList(*flags, "answers.flags", k));
    for (size_t i = 0; i < flags->size(); ++i) {
      ASSIGN_OR_RETURN(FlagAnswer f,
                       ParseFlag((*flags)[i], absl::StrCat("answers.flags[", i, "]")));
      a.flags.push_back(std::move(f));
    }
  }
  if (auto comment = json.find("comment"); comment != json.end()) {
    ASSIGN_OR_RETURN(a.comment, Text(*comment, "answers.comment", kMaxCommentBytes));
  }
  if (auto correction = json.find("correction"); correction != json.end()) {
    ASSIGN_OR_RETURN(a.correction, Text(*correction, "answers.correction", kMaxCorrectionBytes));
  }
  return a;
}

}  // namespace

Json AnswersToJson(const Answers& a) {
  Json json = Json::object();
  if (a.pairwise) json["pairwise"] = Name(*a.pairwise);
  if (!a.ranks.empty()) json["ranks"] = a.ranks;
  if (!a.ratings.empty()) json["ratings"] = a.ratings;
  if (!a.flags.empty()) {
    Json flags = Json::array();
    for (const FlagAnswer& f : a.flags) {
      Json flag = {{"approved", f.approved}};
      if (!f.categories.empty()) {
        Json categories = Json::array();
        for (FlagCategory c : f.categories) categories.push_back(Name(c));
        flag["categories"] = std::move(categories);
      }
      flags.push_back(std::move(flag));
    }
    json["flags"] = std::move(flags);
  }
  if (!a.comment.empty()) json["comment"] = a.comment;
  if (!a.correction.empty()) json["correction"] = a.correction;
  return json;
}

absl::StatusOr<Answers> AnswersFromJson(const Json& json, int num_responses,
                                        const std::vector<QuestionType>& asked) {
  // Every access above is type-checked first, so nothing should throw; the catch keeps that a
  // promise even if a check is missed (and covers bad_alloc).
  try {
    return Parse(json, num_responses, asked);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("answers: unexpected error: ", e.what()));
  }
}

std::optional<FieldError> FieldErrorOf(const absl::Status& status) {
  if (!absl::IsInvalidArgument(status)) return std::nullopt;
  absl::optional<absl::Cord> field = status.GetPayload(kFieldPayloadUrl);
  if (!field) return std::nullopt;
  FieldError error{std::string(*field), std::string(status.message())};
  const std::string prefix = error.field + ": ";
  if (error.message.compare(0, prefix.size(), prefix) == 0) error.message.erase(0, prefix.size());
  return error;
}

}  // namespace rein::feedback
