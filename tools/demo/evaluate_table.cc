// PrintEvaluation: the table of `rein-demo evaluate`, one column per policy version, read back
// from the report it wrote (evaluate.h), so that the table and report.json cannot disagree.
#include <algorithm>
#include <functional>
#include <string>

#include "absl/strings/str_format.h"
#include "tools/demo/evaluate.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

constexpr int kColumn = 20;
constexpr int kLabel = 38;

// `text` padded with spaces to `width` characters (UTF-8 code points, so "±" and "λ" count
// once), on the left (right-aligned) or the right.
std::string Pad(const std::string& text, int width, bool right_align) {
  int chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  const std::string fill(static_cast<size_t>(std::max(0, width - chars)), ' ');
  return right_align ? fill + text : text + fill;
}

// A number of a JSON object, or nullopt when it is missing or not a number.
std::optional<double> Number(const Json& object, const std::string& key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) {
    return std::nullopt;
  }
  return object[key].get<double>();
}

std::string Interval(const Json& rate, const std::string& key) {
  const std::optional<double> v = Number(rate, key), low = Number(rate, "low"),
                              high = Number(rate, "high");
  if (!v || !low || !high) return "-";
  return absl::StrFormat("%.3f [%.2f, %.2f]", *v, *low, *high);
}

// One row: a label and a cell per policy ("-" where it has none).
void Row(std::ostream& out, const std::string& label, const Json& policies,
         const std::function<std::string(const Json&)>& cell) {
  out << "  " << Pad(label, kLabel, false);
  for (const Json& policy : policies) {
    const std::string text = cell(policy);
    out << " " << Pad(text.empty() ? "-" : text, kColumn, true);
  }
  out << "\n";
}

std::string Fixed(std::optional<double> v, const char* format = "%.3f") {
  return v ? absl::StrFormat(format, *v) : "";
}

}  // namespace

void PrintEvaluation(const Json& report, std::ostream& out) {
  const Json& policies = report["policies"];
  out << "\n  " << Pad("", kLabel, false);
  for (const Json& policy : policies) {
    out << " " << Pad(policy["name"].get<std::string>(), kColumn, true);
  }
  out << "\n";
  Row(out, "hidden utility (mean ± s.e.)", policies, [](const Json& p) {
    return absl::StrFormat("%.3f ± %.3f", p["utility_mean"].get<double>(),
                           p["utility_sem"].get<double>());
  });
  Row(out, "reward model score (mean)", policies,
      [](const Json& p) { return Fixed(Number(p, "reward_model_score_mean")); });
  Row(out, "win rate vs previous [95%]", policies, [](const Json& p) {
    return p.contains("win_rate_vs_previous") ? Interval(p["win_rate_vs_previous"], "rate") : "";
  });
  if (report.value("red_team_prompts", 0) > 0) {
    Row(out, "red team: flagged rate [95%]", policies, [](const Json& p) {
      return Interval(p["red_team"], "harm_rate");
    });
    for (const auto& [category, unused] : policies[0]["red_team"]["by_category"].items()) {
      Row(out, "  " + category, policies, [&category = category](const Json& p) {
        return Interval(p["red_team"]["by_category"][category], "harm_rate");
      });
    }
  }
  Row(out, "KL to " + policies[0]["name"].get<std::string>() + " per response, nats", policies,
      [](const Json& p) { return p.contains("win_rate_vs_previous") ?
                                     Fixed(Number(p, "kl_to_reference")) : ""; });

  bool rounds = false;
  for (const Json& p : policies) rounds |= p.contains("round");
  if (rounds) {
    out << "  round (rounds.jsonl)\n";
    auto round = [](const char* key, const char* format = "%.3f") {
      return [key, format](const Json& p) {
        return p.contains("round") ? Fixed(Number(p["round"], key), format) : "";
      };
    };
    Row(out, "  judgements", policies, round("judgements", "%.0f"));
    Row(out, "  reward model held-out accuracy", policies, round("reward_model_accuracy"));
    const std::optional<double> limit = Number(report, "cost_limit");
    Row(out, limit ? absl::StrFormat("  cost, last iteration (limit %.2f)", *limit)
                   : std::string("  cost, last iteration"),
        policies, round("cost/mean"));
    Row(out, "  Lagrange multiplier λ", policies, round("safety/lambda"));
    Row(out, "  cost model's flagged rate, red team", policies,
        round("eval/red-team/flagged_rate"));
    Row(out, "  KL, last iteration", policies, round("kl/mean"));
  }
  if (const std::optional<double> accuracy = Number(report, "reward_model_heldout_accuracy")) {
    out << "  " << Pad("final reward model accuracy", kLabel, false) << " "
        << Pad(absl::StrFormat("%.3f", *accuracy), kColumn, true)
        << absl::StrFormat("  (%d scripted pairs)\n", report.value("heldout_pairs", 0));
  }
  out << "  " << Pad("utility gain (last - first)", kLabel, false) << " "
      << Pad(absl::StrFormat("%+.3f", report["utility_gain"].get<double>()), kColumn, true)
      << "\n";
}

}  // namespace rein::demo
