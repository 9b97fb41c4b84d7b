#include "services/reinctl/feedback_format.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace rein::reinctl {
namespace {

// A name table shared by a Parse and a Name function.
template <typename Enum>
struct Named {
  const char* name;
  Enum value;
};

constexpr Named<rein::v1::QuestionType> kQuestions[] = {
    {"pairwise", rein::v1::QUESTION_TYPE_PAIRWISE},
    {"ranking", rein::v1::QUESTION_TYPE_RANKING},
    {"rating", rein::v1::QUESTION_TYPE_RATING},
    {"flag", rein::v1::QUESTION_TYPE_FLAG},
    {"comment", rein::v1::QUESTION_TYPE_COMMENT},
    {"correction", rein::v1::QUESTION_TYPE_CORRECTION},
};
constexpr Named<rein::v1::AnnotatorRole> kRoles[] = {
    {"annotator", rein::v1::ANNOTATOR_ROLE_ANNOTATOR},
    {"expert", rein::v1::ANNOTATOR_ROLE_EXPERT},
    {"admin", rein::v1::ANNOTATOR_ROLE_ADMIN},
};
constexpr Named<rein::v1::CampaignState> kStates[] = {
    {"active", rein::v1::CAMPAIGN_STATE_ACTIVE},
    {"paused", rein::v1::CAMPAIGN_STATE_PAUSED},
    {"closed", rein::v1::CAMPAIGN_STATE_CLOSED},
};
constexpr Named<rein::v1::ExportFormat> kFormats[] = {
    {"pairs", rein::v1::EXPORT_FORMAT_PAIRS},
    {"rankings", rein::v1::EXPORT_FORMAT_RANKINGS},
    {"ratings", rein::v1::EXPORT_FORMAT_RATINGS},
    {"unpaired", rein::v1::EXPORT_FORMAT_UNPAIRED},
    {"sft", rein::v1::EXPORT_FORMAT_SFT},
    {"judgements", rein::v1::EXPORT_FORMAT_JUDGEMENTS},
};
constexpr Named<rein::v1::Aggregation> kAggregations[] = {
    {"majority", rein::v1::AGGREGATION_MAJORITY},
    {"reliability", rein::v1::AGGREGATION_RELIABILITY},
};

template <typename Enum, size_t N>
absl::StatusOr<Enum> Parse(const Named<Enum> (&table)[N], absl::string_view what,
                           absl::string_view name) {
  std::vector<std::string> names;
  for (const Named<Enum>& entry : table) {
    if (name == entry.name) return entry.value;
    names.push_back(entry.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", what, " '", name, "' (expected ", absl::StrJoin(names, ", "), ")"));
}

template <typename Enum, size_t N>
std::string Name(const Named<Enum> (&table)[N], Enum value) {
  for (const Named<Enum>& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return absl::StrCat("unknown(", static_cast<int>(value), ")");
}

// Rows padded into columns two spaces apart; the last column is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

// A share in [0, 1] with two decimals; "-" for the service's "not known yet" (-1 or NaN).
std::string Share(double value) {
  if (std::isnan(value) || value < 0) return "-";
  return absl::StrFormat("%.2f", value);
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string Time(int64_t us) {
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMicros(us), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<rein::v1::QuestionType> ParseQuestion(absl::string_view name) {
  return Parse(kQuestions, "question", name);
}
std::string QuestionName(rein::v1::QuestionType question) { return Name(kQuestions, question); }

absl::StatusOr<std::vector<rein::v1::QuestionType>> ParseQuestions(absl::string_view list) {
  std::vector<rein::v1::QuestionType> questions;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    absl::StatusOr<rein::v1::QuestionType> q = ParseQuestion(absl::StripAsciiWhitespace(part));
    if (!q.ok()) return q.status();
    if (std::find(questions.begin(), questions.end(), *q) != questions.end()) {
      return absl::InvalidArgumentError(absl::StrCat("question '", part, "' is listed twice"));
    }
    questions.push_back(*q);
  }
  if (questions.empty()) return absl::InvalidArgumentError("no question given");
  return questions;
}

absl::StatusOr<rein::v1::AnnotatorRole> ParseRole(absl::string_view name) {
  return Parse(kRoles, "role", name);
}
std::string RoleName(rein::v1::AnnotatorRole role) { return Name(kRoles, role); }

std::string StateName(rein::v1::CampaignState state) { return Name(kStates, state); }

absl::StatusOr<rein::v1::ExportFormat> ParseExportFormat(absl::string_view name) {
  return Parse(kFormats, "export format", name);
}
absl::StatusOr<rein::v1::Aggregation> ParseAggregation(absl::string_view name) {
  return Parse(kAggregations, "aggregation", name);
}

std::string FormatCampaignStatus(const rein::v1::CampaignStatus& s) {
  const rein::v1::Campaign& c = s.campaign();
  std::vector<std::string> questions;
  for (int q : c.questions())
    questions.push_back(QuestionName(static_cast<rein::v1::QuestionType>(q)));
  std::string out = absl::StrFormat(
      "campaign %s (%s): %s, overlap %d, gold rate %.2f, guidelines v%d, questions %s\n", c.name(),
      c.id(), StateName(c.state()), c.overlap(), c.gold_rate(), c.guideline_version(),
      absl::StrJoin(questions, ","));
  const int judged = s.items() - s.gold_items();
  out += absl::StrFormat("items       %d (%d gold); %d of %d complete\n", s.items(), s.gold_items(),
                         s.items_complete(), judged);
  out += absl::StrFormat("judgements  %d submitted, %d skipped; %d open leases\n",
                         s.judgements_submitted(), s.judgements_skipped(), s.leases_open());
  out += absl::StrFormat(
      "position    left-win rate %s over %d decisive pairwise judgements (0.50 = no bias)\n",
      s.pairwise_decisive() > 0 ? Share(s.left_win_rate()) : "-", s.pairwise_decisive());
  if (s.questions_size() > 0) {
    std::vector<std::vector<std::string>> rows = {{"question", "alpha", "level", "judgements"}};
    for (const rein::v1::QuestionQuality& q : s.questions()) {
      rows.push_back({QuestionName(q.question()),
                      std::isnan(q.alpha()) ? "-" : absl::StrFormat("%.3f", q.alpha()), q.level(),
                      absl::StrCat(q.judgements())});
    }
    out += "\n" + Table(rows);
  }
  if (s.annotators_size() > 0) {
    std::vector<std::vector<std::string>> rows = {{"annotator", "submitted", "skipped", "gold",
                                                   "gold acc", "agreement", "median s", "left-win",
                                                   "paused", "synthetic"}};
    for (const rein::v1::AnnotatorQuality& a : s.annotators()) {
      rows.push_back({a.name(), absl::StrCat(a.submitted()), absl::StrCat(a.skipped()),
                      absl::StrCat(a.gold_judged()), Share(a.gold_accuracy()), Share(a.agreement()),
                      a.submitted() > 0 ? absl::StrFormat("%.1f", a.median_seconds()) : "-",
                      a.submitted() > 0 ? Share(a.left_win_rate()) : "-", YesNo(a.paused()),
                      YesNo(a.synthetic())});
    }
    out += "\n" + Table(rows);
  } else {
    out += "\nno judgements yet\n";
  }
  if (s.versions_size() > 0) {
    std::vector<std::vector<std::string>> rows = {
        {"policy version", "elo", "95% interval", "games", "wins"}};
    for (const rein::v1::VersionRating& v : s.versions()) {
      rows.push_back({absl::StrCat("v", v.policy_version()), absl::StrFormat("%+.0f", v.elo()),
                      absl::StrFormat("[%+.0f, %+.0f]", v.elo_low(), v.elo_high()),
                      absl::StrCat(v.games()), absl::StrFormat("%.1f", v.wins())});
    }
    out += "\nversions judged against each other (Elo relative to the lowest version)\n" +
           Table(rows);
  }
  return out;
}

absl::StatusOr<std::string> CampaignStatusJson(const rein::v1::CampaignStatus& status) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string text;
  google::protobuf::util::Status printed =
      google::protobuf::util::MessageToJsonString(status, &text, options);
  if (!printed.ok()) {
    return absl::InternalError(absl::StrCat("status as JSON: ", printed.ToString()));
  }
  // protobuf writes NaN as the string "NaN"; feedback.proto promises it absent. ordered_json
  // keeps protobuf's field order (the proto's) rather than sorting the keys.
  nlohmann::ordered_json json =
      nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InternalError("status as JSON: protobuf wrote bad JSON");
  if (auto questions = json.find("questions"); questions != json.end() && questions->is_array()) {
    for (nlohmann::ordered_json& q : *questions) {
      if (q.contains("alpha") && q["alpha"].is_string()) q.erase("alpha");
    }
  }
  return json.dump(2) + "\n";
}

std::string FormatCampaigns(const rein::v1::ListCampaignsResponse& campaigns) {
  std::vector<std::vector<std::string>> rows = {
      {"name", "id", "state", "overlap", "gold rate", "questions", "created (UTC)"}};
  for (const rein::v1::Campaign& c : campaigns.campaigns()) {
    std::vector<std::string> questions;
    for (int q : c.questions()) {
      questions.push_back(QuestionName(static_cast<rein::v1::QuestionType>(q)));
    }
    rows.push_back({c.name(), c.id(), StateName(c.state()), absl::StrCat(c.overlap()),
                    absl::StrFormat("%.2f", c.gold_rate()), absl::StrJoin(questions, ","),
                    Time(c.created_us())});
  }
  return Table(rows);
}

std::string FormatAnnotators(const rein::v1::ListAnnotatorsResponse& annotators) {
  std::vector<std::vector<std::string>> rows = {
      {"name", "id", "role", "synthetic", "paused", "created (UTC)"}};
  for (const rein::v1::Annotator& a : annotators.annotators()) {
    rows.push_back({a.name(), a.id(), RoleName(a.role()), YesNo(a.synthetic()), YesNo(a.paused()),
                    Time(a.created_us())});
  }
  return Table(rows);
}

}  // namespace rein::reinctl
