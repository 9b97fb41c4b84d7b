#include "tools/demo/jsonl.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

absl::Status LineError(const std::string& path, size_t line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", message));
}

absl::StatusOr<std::string> StringField(const Json& object, const char* key,
                                        const std::string& path, size_t line) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    return LineError(path, line, absl::StrCat("missing string \"", key, "\""));
  }
  return it->get<std::string>();
}

// Lines as (line number, object).
absl::StatusOr<std::vector<std::pair<size_t, Json>>> ReadNumbered(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open"));
  std::vector<std::pair<size_t, Json>> lines;
  std::string text;
  for (size_t number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return LineError(path, number, "invalid JSON");
    if (!value.is_object()) return LineError(path, number, "expected a JSON object");
    lines.emplace_back(number, std::move(value));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return lines;
}

}  // namespace

absl::StatusOr<std::vector<Json>> ReadJsonl(const std::string& path) {
  ASSIGN_OR_RETURN(auto numbered, ReadNumbered(path));
  std::vector<Json> lines;
  lines.reserve(numbered.size());
  for (auto& [number, value] : numbered) lines.push_back(std::move(value));
  return lines;
}

absl::StatusOr<std::vector<std::string>> ReadPrompts(const std::string& path) {
  ASSIGN_OR_RETURN(auto numbered, ReadNumbered(path));
  std::vector<std::string> prompts;
  for (const auto& [number, value] : numbered) {
    ASSIGN_OR_RETURN(std::string prompt, StringField(value, "prompt", path, number));
    if (prompt.empty()) return LineError(path, number, "\"prompt\" is empty");
    prompts.push_back(std::move(prompt));
  }
  if (prompts.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no prompts"));
  return prompts;
}

absl::StatusOr<std::vector<PreferencePair>> ReadPreferences(const std::string& path) {
  ASSIGN_OR_RETURN(auto numbered, ReadNumbered(path));
  std::vector<PreferencePair> pairs;
  for (const auto& [number, value] : numbered) {
    PreferencePair pair;
    ASSIGN_OR_RETURN(pair.prompt, StringField(value, "prompt", path, number));
    ASSIGN_OR_RETURN(pair.chosen, StringField(value, "chosen", path, number));
    ASSIGN_OR_RETURN(pair.rejected, StringField(value, "rejected", path, number));
    pairs.push_back(std::move(pair));
  }
  if (pairs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no preference pairs"));
  }
  return pairs;
}

absl::Status WriteJsonl(const std::string& path, const std::vector<Json>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  for (const Json& line : lines) out << line.dump() << "\n";
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("error writing ", path));
  return absl::OkStatus();
}

absl::Status WriteJsonFile(const std::string& path, const Json& value) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  out << value.dump(2) << "\n";
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("error writing ", path));
  return absl::OkStatus();
}

absl::StatusOr<Json> ReadJsonFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  Json value = Json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON"));
  return value;
}

}  // namespace rein::demo
