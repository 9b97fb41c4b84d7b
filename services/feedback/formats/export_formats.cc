#include "services/feedback/formats/export_formats.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/feedback/formats/answers_json.h"
#include "services/feedback/formats/internal/json_depth.h"

namespace rein::feedback {
namespace {

using Json = nlohmann::json;

// Deeper than any sampling settings object; stored documents beyond it are kept as strings.
constexpr int kMaxSamplingDepth = 32;

Json Messages(const std::vector<ChatMessage>& messages) {
  Json out = Json::array();
  for (const ChatMessage& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

// The conversation a chat item's responses answer (see the header on where the prompt goes).
Json ChatOf(const Item& item) {
  Json messages = Messages(item.context);
  const ChatMessage& last = item.context.back();
  const bool prompt_is_last = last.role == "user" && last.content == item.prompt;
  if (!item.prompt.empty() && !prompt_is_last) {
    messages.push_back({{"role", "user"}, {"content", item.prompt}});
  }
  return messages;
}

// The record's prompt part: "messages" for chat items, else "prompt".
Json Base(const Item& item) {
  if (!item.context.empty()) return {{"messages", ChatOf(item)}};
  return {{"prompt", item.prompt}};
}

absl::StatusOr<std::string> Line(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

absl::Status CheckItem(const Item* item) {
  if (item == nullptr) return absl::InvalidArgumentError("export record without an item");
  return absl::OkStatus();
}

// responses[index].text, which the learner needs non-empty.
absl::StatusOr<std::string> ResponseText(const Item& item, int index) {
  if (index < 0 || static_cast<size_t>(index) >= item.responses.size()) {
    return absl::InvalidArgumentError(absl::StrCat("item ", item.id, ": response ", index,
                                                   " out of range (", item.responses.size(),
                                                   " responses)"));
  }
  const std::string& text = item.responses[index].text;
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("item ", item.id, ": response ", index,
                                                   " is empty, which the learner refuses"));
  }
  return text;
}

// Runs a line writer so that no exception (bad_alloc, a missed nlohmann type error) escapes.
template <typename F>
absl::StatusOr<std::string> Guarded(F&& write) {
  try {
    return write();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("export: unexpected error: ", e.what()));
  }
}

absl::StatusOr<std::string> Pair(const PairRecord& r) {
  RETURN_IF_ERROR(CheckItem(r.item));
  if (r.chosen == r.rejected) {
    return absl::InvalidArgumentError(absl::StrCat("item ", r.item->id, ": chosen == rejected"));
  }
  if (!std::isfinite(r.margin) || r.margin < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("item ", r.item->id, ": margin ", r.margin, " is not a number >= 0"));
  }
  Json j = Base(*r.item);
  ASSIGN_OR_RETURN(j["chosen"], ResponseText(*r.item, r.chosen));
  ASSIGN_OR_RETURN(j["rejected"], ResponseText(*r.item, r.rejected));
  j["margin"] = r.margin;
  return Line(j);
}

absl::StatusOr<std::string> Ranking(const RankingRecord& r) {
  RETURN_IF_ERROR(CheckItem(r.item));
  std::vector<int> sorted = r.order_best_first;
  std::sort(sorted.begin(), sorted.end());
  bool permutation = sorted.size() == r.item->responses.size() && sorted.size() >= 2;
  for (size_t i = 0; permutation && i < sorted.size(); ++i) permutation = sorted[i] == int(i);
  if (!permutation) {
    return absl::InvalidArgumentError(absl::StrCat("item ", r.item->id,
                                                   ": the order is not a permutation of its ",
                                                   r.item->responses.size(), " responses"));
  }
  if (!std::isfinite(r.margin)) {
    return absl::InvalidArgumentError(absl::StrCat("item ", r.item->id, ": margin is not finite"));
  }
  Json j = Base(*r.item);
  Json ranked = Json::array();
  for (int i : r.order_best_first) {
    ASSIGN_OR_RETURN(std::string text, ResponseText(*r.item, i));
    ranked.push_back(std::move(text));
  }
  j["ranked"] = std::move(ranked);
  j["margin"] = r.margin;
  return Line(j);
}

absl::StatusOr<std::string> Rating(const RatingRecord& r) {
  RETURN_IF_ERROR(CheckItem(r.item));
  const std::vector<double>& ratings = r.mean_ratings;
  if (ratings.size() != r.item->responses.size() || ratings.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("item ", r.item->id, ": ", ratings.size(),
                                                   " ratings for ", r.item->responses.size(),
                                                   " responses"));
  }
  if (!std::all_of(ratings.begin(), ratings.end(), [](double v) { return std::isfinite(v); })) {
    return absl::InvalidArgumentError(
        absl::StrCat("item ", r.item->id, ": a rating is not finite"));
  }
  // The learner refuses a record whose ratings are all equal: it holds no preference.
  if (std::all_of(ratings.begin(), ratings.end(), [&](double v) { return v == ratings[0]; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("item ", r.item->id, ": all ratings are equal, no preference to learn"));
  }
  Json j = Base(*r.item);
  Json responses = Json::array();
  for (size_t i = 0; i < r.item->responses.size(); ++i) {
    ASSIGN_OR_RETURN(std::string text, ResponseText(*r.item, static_cast<int>(i)));
    responses.push_back(std::move(text));
  }
  j["responses"] = std::move(responses);
  j["ratings"] = ratings;
  return Line(j);
}

absl::StatusOr<std::string> Unpaired(const UnpairedRecord& r) {
  RETURN_IF_ERROR(CheckItem(r.item));
  Json j = Base(*r.item);
  ASSIGN_OR_RETURN(j["completion"], ResponseText(*r.item, r.response));
  j["label"] = r.label;
  Json names = Json::array();
  for (FlagCategory c : r.categories) names.push_back(Name(c));
  j["categories"] = std::move(names);
  return Line(j);
}

absl::StatusOr<std::string> Demonstration(const DemonstrationRecord& r) {
  RETURN_IF_ERROR(CheckItem(r.item));
  if (r.correction.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("item ", r.item->id, ": empty correction"));
  }
  Json j;
  if (r.item->context.empty()) {
    j = {{"prompt", r.item->prompt}, {"response", r.correction}};
  } else {
    Json messages = ChatOf(*r.item);
    messages.push_back({{"role", "assistant"}, {"content", r.correction}});
    j = {{"messages", std::move(messages)}};
  }
  if (!r.annotator_id.empty()) j["annotator_id"] = r.annotator_id;
  return Line(j);
}

// The stored sampling settings as an object when they parse as one, else the raw text: a
// raw export never drops what was recorded.
Json Sampling(const std::string& sampling_json) {
  if (!internal::JsonDeeperThan(sampling_json, kMaxSamplingDepth)) {
    Json parsed = Json::parse(sampling_json, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded() && parsed.is_object()) return parsed;
  }
  return sampling_json;
}

absl::StatusOr<std::string> JudgementJson(const Item& item, const Judgement& j,
                                          const Annotator& a) {
  Json responses = Json::array();
  for (const Response& r : item.responses) {
    responses.push_back({{"text", r.text},
                         {"provenance",
                          {{"policy_version", r.provenance.policy_version},
                           {"model", r.provenance.model},
                           {"seed", r.provenance.seed},
                           {"sampling", Sampling(r.provenance.sampling_json)},
                           {"synthetic", r.provenance.synthetic}}}});
  }
  Json line = {{"judgement_id", j.id},
               {"item_id", item.id},
               {"external_id", item.external_id},
               {"campaign_id", j.campaign_id},
               {"gold", item.gold},
               {"annotator_id", a.id},
               {"annotator_name", a.name},
               {"annotator_role", Name(a.role)},
               {"annotator_synthetic", a.synthetic},
               {"status", Name(j.status)},
               {"answers", AnswersToJson(j.answers)},
               {"shown_order", j.shown_order},
               {"seconds_spent", std::isfinite(j.seconds_spent) ? j.seconds_spent : 0.0},
               {"guideline_version", j.guideline_version},
               {"synthetic", j.synthetic},
               {"created_us", j.created_us},
               {"prompt", item.prompt},
               {"context", Messages(item.context)},
               {"responses", std::move(responses)}};
  return Line(line);
}

}  // namespace

absl::StatusOr<std::string> ExportLine(const PairRecord& r) {
  return Guarded([&] { return Pair(r); });
}
absl::StatusOr<std::string> ExportLine(const RankingRecord& r) {
  return Guarded([&] { return Ranking(r); });
}
absl::StatusOr<std::string> ExportLine(const RatingRecord& r) {
  return Guarded([&] { return Rating(r); });
}
absl::StatusOr<std::string> ExportLine(const UnpairedRecord& r) {
  return Guarded([&] { return Unpaired(r); });
}
absl::StatusOr<std::string> ExportLine(const DemonstrationRecord& r) {
  return Guarded([&] { return Demonstration(r); });
}
absl::StatusOr<std::string> ExportJudgementLine(const Item& item, const Judgement& judgement,
                                                const Annotator& annotator) {
  return Guarded([&] { return JudgementJson(item, judgement, annotator); });
}

std::string PairLine(const Item& item, int chosen, int rejected, double margin) {
  return ExportLine(PairRecord{&item, chosen, rejected, margin}).value_or("");
}
std::string RankingLine(const Item& item, const std::vector<int>& order_best_first, double margin) {
  return ExportLine(RankingRecord{&item, order_best_first, margin}).value_or("");
}
std::string RatingLine(const Item& item, const std::vector<double>& mean_ratings) {
  return ExportLine(RatingRecord{&item, mean_ratings}).value_or("");
}
std::string UnpairedLine(const Item& item, int response, bool label,
                         const std::vector<FlagCategory>& categories) {
  return ExportLine(UnpairedRecord{&item, response, label, categories}).value_or("");
}
std::string DemonstrationLine(const Item& item, const std::string& correction,
                              const std::string& annotator_id) {
  return ExportLine(DemonstrationRecord{&item, correction, annotator_id}).value_or("");
}
std::string JudgementLine(const Item& item, const Judgement& judgement,
                          const Annotator& annotator) {
  return ExportJudgementLine(item, judgement, annotator).value_or("");
}

}  // namespace rein::feedback
