#include "common/testing/prometheus_text.h"

#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace rein::testing {
namespace {

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Consumes a metric or label name from the front of `text`.
bool ConsumeName(absl::string_view& text, std::string* name) {
  if (text.empty() || !IsNameStart(text[0])) return false;
  size_t n = 1;
  while (n < text.size() && IsNameChar(text[n])) ++n;
  *name = std::string(text.substr(0, n));
  text.remove_prefix(n);
  return true;
}

// Consumes `"value"` with \\, \" and \n escapes.
bool ConsumeQuoted(absl::string_view& text, std::string* value) {
  if (!absl::ConsumePrefix(&text, "\"")) return false;
  value->clear();
  while (!text.empty()) {
    char c = text[0];
    text.remove_prefix(1);
    if (c == '"') return true;
    if (c == '\\') {
      if (text.empty()) return false;
      char e = text[0];
      text.remove_prefix(1);
      value->push_back(e == 'n' ? '\n' : e);
    } else {
      value->push_back(c);
    }
  }
  return false;
}

bool ConsumeLabels(absl::string_view& text, std::map<std::string, std::string>* labels) {
  if (!absl::ConsumePrefix(&text, "{")) return true;  // No labels.
  while (!absl::ConsumePrefix(&text, "}")) {
    std::string name, value;
    if (!ConsumeName(text, &name) || !absl::ConsumePrefix(&text, "=") ||
        !ConsumeQuoted(text, &value)) {
      return false;
    }
    (*labels)[name] = value;
    absl::ConsumePrefix(&text, ",");
  }
  return true;
}

bool ParseValue(absl::string_view text, double* value) {
  if (text == "+Inf") { *value = HUGE_VAL; return true; }
  if (text == "-Inf") { *value = -HUGE_VAL; return true; }
  if (text == "NaN") { *value = NAN; return true; }
  return absl::SimpleAtod(text, value);
}

// The family a sample belongs to: histogram and summary samples carry suffixes.
std::string FamilyOf(const std::string& name, const std::map<std::string, MetricFamilyInfo>& fams) {
  if (fams.count(name)) return name;
  for (absl::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (absl::EndsWith(name, suffix)) {
      std::string base = name.substr(0, name.size() - suffix.size());
      if (fams.count(base)) return base;
    }
  }
  return name;
}

absl::Status ParseComment(absl::string_view line, PrometheusPage* page) {
  std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
  if (parts.size() < 3 || (parts[1] != "HELP" && parts[1] != "TYPE")) return absl::OkStatus();
  MetricFamilyInfo& family = page->families[parts[2]];
  std::string rest = parts.size() == 4 ? parts[3] : "";
  if (parts[1] == "HELP") {
    family.help = rest;
    return absl::OkStatus();
  }
  if (!family.type.empty()) return absl::InvalidArgumentError("duplicate TYPE for " + parts[2]);
  static const char* kTypes[] = {"counter", "gauge", "histogram", "summary", "untyped"};
  for (const char* type : kTypes) {
    if (rest == type) {
      family.type = rest;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown TYPE '", rest, "'"));
}

absl::Status ParseSample(absl::string_view line, PrometheusPage* page) {
  Sample sample;
  if (!ConsumeName(line, &sample.name)) return absl::InvalidArgumentError("bad metric name");
  if (!ConsumeLabels(line, &sample.labels)) return absl::InvalidArgumentError("bad labels");
  if (!absl::ConsumePrefix(&line, " ")) return absl::InvalidArgumentError("no value");
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (fields.empty() || fields.size() > 2 || !ParseValue(fields[0], &sample.value)) {
    return absl::InvalidArgumentError("bad value");
  }
  std::string family = FamilyOf(sample.name, page->families);
  auto it = page->families.find(family);
  if (it != page->families.end() && family != sample.name && it->second.type != "histogram" &&
      it->second.type != "summary") {
    return absl::InvalidArgumentError(absl::StrCat(sample.name, " has a suffix its ",
                                                   it->second.type, " family does not allow"));
  }
  page->samples.push_back(std::move(sample));
  return absl::OkStatus();
}

}  // namespace

std::optional<double> PrometheusPage::Find(const std::string& name,
                                           const std::map<std::string, std::string>& labels) const {
  for (const Sample& sample : samples) {
    if (sample.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      if (it == sample.labels.end() || it->second != value) match = false;
    }
    if (match) return sample.value;
  }
  return std::nullopt;
}

absl::StatusOr<PrometheusPage> ParsePrometheusText(const std::string& text) {
  PrometheusPage page;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    absl::Status status = absl::StartsWith(line, "#") ? ParseComment(line, &page)
                                                      : ParseSample(line, &page);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", status.message(), ": ", line));
    }
  }
  return page;
}

}  // namespace rein::testing
