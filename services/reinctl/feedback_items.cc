#include "services/reinctl/feedback_items.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rein::reinctl {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

// The provenance of a response given as an object; absent keys keep their "unknown" values.
absl::Status ParseProvenance(const Json& r, const std::string& where, rein::v1::Provenance* out) {
  out->set_policy_version(-1);
  if (auto it = r.find("policy_version"); it != r.end()) {
    if (!it->is_number_integer()) {
      return Invalid(absl::StrCat(where, ".policy_version must be an integer"));
    }
    out->set_policy_version(it->get<int64_t>());
  }
  if (auto it = r.find("model"); it != r.end()) {
    if (!it->is_string()) return Invalid(absl::StrCat(where, ".model must be a string"));
    out->set_model(it->get<std::string>());
  }
  if (auto it = r.find("seed"); it != r.end()) {
    if (!it->is_number_unsigned()) {
      return Invalid(absl::StrCat(where, ".seed must be a non-negative integer"));
    }
    out->set_seed(it->get<uint64_t>());
  }
  if (auto it = r.find("sampling"); it != r.end()) {
    if (!it->is_object()) return Invalid(absl::StrCat(where, ".sampling must be an object"));
    out->set_sampling_json(it->dump());
  }
  if (auto it = r.find("synthetic"); it != r.end()) {
    if (!it->is_boolean()) return Invalid(absl::StrCat(where, ".synthetic must be true or false"));
    out->set_synthetic(it->get<bool>());
  }
  return absl::OkStatus();
}

absl::Status ParseResponses(const Json& responses, rein::v1::Item* item) {
  if (!responses.is_array()) return Invalid("\"responses\" must be a list");
  for (size_t i = 0; i < responses.size(); ++i) {
    const Json& r = responses[i];
    const std::string where = absl::StrCat("responses[", i, "]");
    rein::v1::ItemResponse* response = item->add_responses();
    if (r.is_string()) {
      response->set_text(r.get<std::string>());
      response->mutable_provenance()->set_policy_version(-1);
      continue;
    }
    if (!r.is_object()) return Invalid(absl::StrCat(where, " must be a string or an object"));
    auto text = r.find("text");
    if (text == r.end() || !text->is_string()) {
      return Invalid(absl::StrCat(where, ".text must be a string"));
    }
    response->set_text(text->get<std::string>());
    if (absl::Status s = ParseProvenance(r, where, response->mutable_provenance()); !s.ok()) {
      return s;
    }
  }
  // The service checks 2..16 too, but only per batch; here the message can name the line.
  if (item->responses_size() < 2 || item->responses_size() > 16) {
    return Invalid(absl::StrCat("\"responses\" has ", item->responses_size(),
                                " entries; an item needs 2 to 16"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ForEachJsonLine(const std::string& path,
                             const std::function<absl::Status(const Json&, int)>& visit) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("'", path, "' cannot be read"));
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const Json record = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    absl::Status status;
    if (record.is_discarded()) {
      status = Invalid("malformed JSON");
    } else if (!record.is_object()) {
      status = Invalid("expected a JSON object");
    } else {
      status = visit(record, line);
    }
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat(path, ":", line, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<rein::v1::ChatMessage>> ParseMessages(const Json& messages) {
  if (!messages.is_array() || messages.empty()) {
    return Invalid("\"messages\" must be a non-empty list");
  }
  std::vector<rein::v1::ChatMessage> parsed;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string()) {
      return Invalid(absl::StrCat("messages[", i, "] needs string \"role\" and \"content\""));
    }
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant") {
      return Invalid(
          absl::StrCat("messages[", i, "].role '", role, "' is not system, user or assistant"));
    }
    rein::v1::ChatMessage& message = parsed.emplace_back();
    message.set_role(role);
    message.set_content(m["content"].get<std::string>());
  }
  return parsed;
}

std::string LastUserTurn(const std::vector<rein::v1::ChatMessage>& messages) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->role() == "user") return it->content();
  }
  return "";
}

absl::StatusOr<rein::v1::Item> ParseItem(const Json& record) {
  static const char* const kKeys[] = {"prompt", "messages", "responses",
                                      "id",     "gold",     "gold_answer"};
  for (const auto& [key, value] : record.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return Invalid(absl::StrCat("unknown key \"", key,
                                  "\" (expected prompt, messages, responses, id, gold, "
                                  "gold_answer)"));
    }
  }
  rein::v1::Item item;
  if (auto it = record.find("messages"); it != record.end()) {
    absl::StatusOr<std::vector<rein::v1::ChatMessage>> messages = ParseMessages(*it);
    if (!messages.ok()) return messages.status();
    for (rein::v1::ChatMessage& m : *messages) *item.add_context() = std::move(m);
  }
  if (auto it = record.find("prompt"); it != record.end()) {
    if (!it->is_string()) return Invalid("\"prompt\" must be a string");
    item.set_prompt(it->get<std::string>());
  } else if (item.context_size() > 0) {
    item.set_prompt(LastUserTurn({item.context().begin(), item.context().end()}));
  } else {
    return Invalid("needs \"prompt\" (or \"messages\")");
  }
  auto responses = record.find("responses");
  if (responses == record.end()) return Invalid("needs \"responses\"");
  if (absl::Status s = ParseResponses(*responses, &item); !s.ok()) return s;
  if (auto it = record.find("id"); it != record.end()) {
    if (!it->is_string() || it->get<std::string>().empty()) {
      return Invalid("\"id\" must be a non-empty string");
    }
    item.set_external_id(it->get<std::string>());
  } else {
    // Object keys are sorted in nlohmann::json, so the dump is the same for the same content.
    item.set_external_id(StableId("h-", record.dump()));
  }
  if (auto it = record.find("gold"); it != record.end()) {
    if (!it->is_boolean()) return Invalid("\"gold\" must be true or false");
    item.set_gold(it->get<bool>());
  }
  if (auto it = record.find("gold_answer"); it != record.end()) {
    if (!it->is_object()) return Invalid("\"gold_answer\" must be an object");
    if (!item.gold()) return Invalid("\"gold_answer\" is given but \"gold\" is not true");
    item.set_gold_answer_json(it->dump());
  } else if (item.gold()) {
    return Invalid("a gold item needs \"gold_answer\" (e.g. {\"pairwise\": \"a\"})");
  }
  return item;
}

uint64_t StableHash(absl::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::string StableId(absl::string_view prefix, absl::string_view bytes) {
  return absl::StrFormat("%s%016x", prefix, StableHash(bytes));
}

}  // namespace rein::reinctl
