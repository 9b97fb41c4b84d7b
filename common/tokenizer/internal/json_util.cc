#include "common/tokenizer/internal/json_util.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace rein::tokenizer::internal {

absl::StatusOr<std::string> ReadFileToString(absl::string_view path) {
  const std::string file(path);
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) {
    return absl::NotFoundError(absl::StrCat(file, ": no such file"));
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (!in.good() && !in.eof()) return absl::InternalError(absl::StrCat(file, ": read failed"));
  return std::move(contents).str();
}

absl::StatusOr<Json> ReadJsonFile(absl::string_view path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  // Json::exception, not just parse_error: a number too large for a double ("1e999") throws
  // out_of_range from inside the parser.
  try {
    return Json::parse(*text);
  } catch (const Json::parse_error& error) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid JSON at byte ", error.byte, ": ", error.what()));
  } catch (const Json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON: ", error.what()));
  }
}

absl::Status JsonFile::Error(absl::string_view key, absl::string_view problem) const {
  return absl::InvalidArgumentError(absl::StrCat(path_, ": key '", key, "' ", problem));
}

const Json* JsonFile::Find(const Json& object, absl::string_view name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(name));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::StatusOr<const Json*> JsonFile::Require(const Json& object, absl::string_view name,
                                              absl::string_view key) const {
  const Json* value = Find(object, name);
  if (value == nullptr) return Error(key, "is missing");
  return value;
}

absl::StatusOr<std::string> JsonFile::String(const Json& value, absl::string_view key) const {
  if (!value.is_string()) return Error(key, "must be a string");
  return value.get<std::string>();
}

absl::StatusOr<bool> JsonFile::OptionalBool(const Json& object, absl::string_view name,
                                            bool fallback, absl::string_view key) const {
  const Json* value = Find(object, name);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) return Error(key, "must be true or false");
  return value->get<bool>();
}

absl::StatusOr<std::optional<std::string>> JsonFile::OptionalString(
    const Json& object, absl::string_view name, absl::string_view key) const {
  const Json* value = Find(object, name);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) return Error(key, "must be a string");
  return std::optional<std::string>(value->get<std::string>());
}

absl::StatusOr<int32_t> JsonFile::TokenIdValue(const Json& value, absl::string_view key) const {
  if (value.is_number_unsigned() || value.is_number_integer()) {
    int64_t id = value.get<int64_t>();
    if (id >= 0 && id <= std::numeric_limits<int32_t>::max()) return static_cast<int32_t>(id);
  }
  return Error(key, "must be a token id (an integer in [0, 2^31))");
}

}  // namespace rein::tokenizer::internal
