#include "common/data/training_examples.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/data/internal/jsonl.h"
#include "common/data/internal/trl_forms.h"
#include "common/status/status_macros.h"

namespace rein::data {
namespace {

using internal::Json;
using internal::LineError;
using tokenizer::TokenId;

// The record's prompt: its "prompt", or its "messages" minus a final assistant turn when
// `split_last_turn` (that turn is then the response, returned in `last_turn`).
absl::StatusOr<std::vector<TokenId>> RecordPrompt(const Json& record, PromptFormat format,
                                                  const tokenizer::Tokenizer& tokenizer,
                                                  const std::string& path, int line,
                                                  std::string* last_turn) {
  if (last_turn == nullptr || !record.contains("messages")) {
    return internal::EncodePrompt(record, format, tokenizer, path, line);
  }
  const Json& messages = record["messages"];
  const bool ends_with_assistant =
      messages.is_array() && messages.size() >= 2 && messages.back().is_object() &&
      messages.back().contains("role") && messages.back()["role"] == "assistant" &&
      messages.back().contains("content") && messages.back()["content"].is_string();
  if (!ends_with_assistant) {
    return LineError(path, line,
                     "\"messages\" must end with an assistant turn (the response to learn)");
  }
  *last_turn = messages.back()["content"].get<std::string>();
  Json prompt_only = {{"messages", Json(messages.begin(), messages.end() - 1)}};
  return internal::EncodePrompt(prompt_only, format, tokenizer, path, line);
}

// A list of strings at record[key], at least `min_size` long.
absl::StatusOr<std::vector<std::string>> StringList(const Json& record, const char* key,
                                                    size_t min_size, const std::string& path,
                                                    int line) {
  // Looked up with find: a const json's operator[] on a missing key reads past the map (a record
  // with "ratings" but no "responses" did, found by tests/fuzz/training_examples_fuzzer).
  const auto found = record.find(key);
  const Json& list = found != record.end() ? *found : Json();
  if (!list.is_array() || list.size() < min_size ||
      !std::all_of(list.begin(), list.end(), [](const Json& j) { return j.is_string(); })) {
    return LineError(path, line, absl::StrCat("\"", key, "\" must be a list of at least ",
                                              min_size, " strings"));
  }
  return list.get<std::vector<std::string>>();
}

// The judgement of one preference record: response texts best first, ties, margin; or one
// response and its label for the unpaired form.
struct Judgement {
  std::vector<std::string> responses;
  std::vector<bool> tied_with_next;
  float margin = 0;
  std::optional<bool> label;
};

absl::StatusOr<Judgement> ParseJudgement(const Json& record, const std::string& path, int line) {
  Judgement judgement;
  // Either key opens the unpaired form, so that a record missing the other is named as such.
  const bool unpaired = record.contains("completion") || record.contains("label");
  const int forms = static_cast<int>(record.contains("chosen")) +
                    static_cast<int>(record.contains("ranked")) +
                    static_cast<int>(record.contains("ratings")) + static_cast<int>(unpaired);
  if (forms != 1) {
    return LineError(path, line, "expected exactly one of \"chosen\"/\"rejected\", \"ranked\", "
                                 "\"responses\"/\"ratings\" and \"completion\"/\"label\"");
  }
  if (unpaired) {
    ASSIGN_OR_RETURN(std::string completion,
                     internal::StringField(record, "completion", path, line));
    if (!record.contains("label") || !record["label"].is_boolean()) {
      return LineError(path, line,
                       "\"label\" must be a boolean (true = approved, false = flagged)");
    }
    judgement.responses = {std::move(completion)};
    judgement.label = record["label"].get<bool>();
    return judgement;
  }
  if (record.contains("chosen")) {
    ASSIGN_OR_RETURN(std::string chosen, internal::StringField(record, "chosen", path, line));
    ASSIGN_OR_RETURN(std::string rejected, internal::StringField(record, "rejected", path, line));
    judgement.responses = {std::move(chosen), std::move(rejected)};
    if (record.contains("margin")) {
      if (!record["margin"].is_number() || record["margin"].get<double>() < 0) {
        return LineError(path, line, "\"margin\" must be a non-negative number");
      }
      judgement.margin = record["margin"].get<float>();
    }
  } else if (record.contains("ranked")) {
    ASSIGN_OR_RETURN(judgement.responses, StringList(record, "ranked", 2, path, line));
  } else {
    ASSIGN_OR_RETURN(std::vector<std::string> responses,
                     StringList(record, "responses", 2, path, line));
    const Json& ratings = record["ratings"];
    if (!ratings.is_array() || ratings.size() != responses.size() ||
        !std::all_of(ratings.begin(), ratings.end(), [](const Json& j) { return j.is_number(); })) {
      return LineError(path, line, "\"ratings\" must be numbers, one per response");
    }
    std::vector<size_t> order(responses.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return ratings[a].get<double>() > ratings[b].get<double>();
    });
    if (ratings[order.front()].get<double>() == ratings[order.back()].get<double>()) {
      return LineError(path, line, "all ratings are equal: no preference to learn");
    }
    for (size_t i = 0; i < order.size(); ++i) {
      judgement.responses.push_back(responses[order[i]]);
      if (i + 1 < order.size()) {
        judgement.tied_with_next.push_back(ratings[order[i]].get<double>() ==
                                           ratings[order[i + 1]].get<double>());
      }
    }
  }
  if (judgement.tied_with_next.empty()) {
    judgement.tied_with_next.assign(judgement.responses.size() - 1, false);
  }
  return judgement;
}

bool TooLong(const std::vector<TokenId>& ids, int limit) {
  return static_cast<int>(ids.size()) > limit;
}

absl::Status NothingUsable(const std::string& path, size_t skipped) {
  return absl::FailedPreconditionError(absl::StrCat(
      "no usable example in '", path, "' (", skipped,
      " skipped as longer than max_prompt_tokens/max_response_tokens)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SftDataset>> LoadSftDataset(const std::string& path,
                                                           const tokenizer::Tokenizer& tokenizer,
                                                           const TrainingDataOptions& options) {
  RETURN_IF_ERROR(internal::CheckPromptFormat(options.format, tokenizer));
  std::vector<SftExample> examples;
  size_t skipped = 0;
  RETURN_IF_ERROR(internal::ForEachRecord(path, [&](const Json& raw, int line) -> absl::Status {
    ASSIGN_OR_RETURN(const Json record, internal::NormalizeTrlRecord(raw, path, line));
    std::string response;
    SftExample example;
    // TRL's prompt/completion form names the response "completion".
    const char* response_key = record.contains("completion") ? "completion" : "response";
    if (record.contains("messages") && !record.contains(response_key)) {
      ASSIGN_OR_RETURN(example.prompt_ids,
                       RecordPrompt(record, options.format, tokenizer, path, line, &response));
    } else {
      ASSIGN_OR_RETURN(example.prompt_ids,
                       RecordPrompt(record, options.format, tokenizer, path, line, nullptr));
      ASSIGN_OR_RETURN(response, internal::StringField(record, response_key, path, line));
    }
    ASSIGN_OR_RETURN(example.response_ids,
                     internal::EncodeResponse(response, tokenizer, path, line));
    if (TooLong(example.prompt_ids, options.max_prompt_tokens) ||
        TooLong(example.response_ids, options.max_response_tokens)) {
      ++skipped;
    } else {
      examples.push_back(std::move(example));
    }
    return absl::OkStatus();
  }));
  if (examples.empty()) return NothingUsable(path, skipped);
  return std::make_unique<SftDataset>(std::move(examples), skipped);
}

absl::StatusOr<std::unique_ptr<PreferenceDataset>> LoadPreferenceDataset(
    const std::string& path, const tokenizer::Tokenizer& tokenizer,
    const TrainingDataOptions& options) {
  RETURN_IF_ERROR(internal::CheckPromptFormat(options.format, tokenizer));
  std::vector<PreferenceExample> examples;
  size_t skipped = 0;
  RETURN_IF_ERROR(internal::ForEachRecord(path, [&](const Json& raw, int line) -> absl::Status {
    ASSIGN_OR_RETURN(const Json record, internal::NormalizeTrlRecord(raw, path, line));
    PreferenceExample example;
    ASSIGN_OR_RETURN(example.prompt_ids,
                     RecordPrompt(record, options.format, tokenizer, path, line, nullptr));
    ASSIGN_OR_RETURN(Judgement judgement, ParseJudgement(record, path, line));
    bool too_long = TooLong(example.prompt_ids, options.max_prompt_tokens);
    for (const std::string& text : judgement.responses) {
      ASSIGN_OR_RETURN(std::vector<TokenId> ids,
                       internal::EncodeResponse(text, tokenizer, path, line));
      too_long = too_long || TooLong(ids, options.max_response_tokens);
      example.responses.push_back(std::move(ids));
    }
    example.tied_with_next = std::move(judgement.tied_with_next);
    example.margin = judgement.margin;
    example.label = judgement.label;
    if (too_long) {
      ++skipped;
    } else {
      examples.push_back(std::move(example));
    }
    return absl::OkStatus();
  }));
  if (examples.empty()) return NothingUsable(path, skipped);
  return std::make_unique<PreferenceDataset>(std::move(examples), skipped);
}

namespace {

bool AllTied(const PreferenceExample& e) {
  return std::all_of(e.tied_with_next.begin(), e.tied_with_next.end(), [](bool t) { return t; });
}

PreferenceExample Single(const PreferenceExample& e, const std::vector<TokenId>& response,
                         bool label) {
  PreferenceExample out;
  out.prompt_ids = e.prompt_ids;
  out.responses = {response};
  out.label = label;
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PreferenceDataset>> OfflinePreferenceView(
    const PreferenceDataset& dataset, bool paired, size_t* left_out) {
  std::vector<PreferenceExample> out;
  size_t dropped = 0;
  for (const PreferenceExample& e : dataset.examples()) {
    const bool comparison = !e.label.has_value();
    if (comparison && AllTied(e)) {
      ++dropped;
    } else if (paired && !comparison) {
      ++dropped;
    } else if (paired) {
      PreferenceExample pair;
      pair.prompt_ids = e.prompt_ids;
      pair.responses = {e.responses.front(), e.responses.back()};
      pair.tied_with_next = {false};
      pair.margin = e.margin;
      out.push_back(std::move(pair));
    } else if (comparison) {
      out.push_back(Single(e, e.responses.front(), true));
      out.push_back(Single(e, e.responses.back(), false));
    } else {
      out.push_back(e);
    }
  }
  if (left_out != nullptr) *left_out = dropped;
  if (out.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no usable judgement for ", paired ? "dpo/ipo (they need comparisons with a preference: "
                                             "chosen/rejected, rankings or unequal ratings)"
                                           : "kto (it needs comparisons or approve/flag labels)",
        "; ", dropped, " left out"));
  }
  return std::make_unique<PreferenceDataset>(std::move(out), dataset.skipped());
}

absl::StatusOr<std::unique_ptr<PreferenceDataset>> CostModelView(const PreferenceDataset& dataset,
                                                                 size_t* left_out) {
  std::vector<PreferenceExample> out;
  for (const PreferenceExample& e : dataset.examples()) {
    if (!e.label.has_value()) continue;
    PreferenceExample flagged = e;
    flagged.label = !*e.label;
    out.push_back(std::move(flagged));
  }
  const size_t dropped = dataset.size() - out.size();
  if (left_out != nullptr) *left_out = dropped;
  if (out.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no approve/flag judgement for cost-model ({\"prompt\", \"completion\", \"label\"} "
        "lines, e.g. rein-feedback's flag export); ", dropped, " comparisons left out"));
  }
  return std::make_unique<PreferenceDataset>(std::move(out), dataset.skipped());
}

}  // namespace rein::data
