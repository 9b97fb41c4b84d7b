// Reading JSON files with errors that name the file and the key ("tokenizer.json: key
// 'model.merges[3]' must be a string or a pair of strings"). nlohmann's exceptions stop here.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_JSON_UTIL_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_JSON_UTIL_H_

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rein::tokenizer::internal {

using Json = nlohmann::json;

// The whole file. NOT_FOUND if it does not exist, INTERNAL if it cannot be read.
absl::StatusOr<std::string> ReadFileToString(absl::string_view path);

// Parses a JSON file. INVALID_ARGUMENT naming the file and byte offset if malformed.
absl::StatusOr<Json> ReadJsonFile(absl::string_view path);

// Helpers for one file; `key` arguments are dotted paths used only in messages.
class JsonFile {
 public:
  explicit JsonFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  // INVALID_ARGUMENT "<path>: key '<key>' <problem>".
  absl::Status Error(absl::string_view key, absl::string_view problem) const;

  // The member `name` of `object`, or nullptr if absent or null.
  static const Json* Find(const Json& object, absl::string_view name);

  // The member `name` of `object`: an error if absent or null.
  absl::StatusOr<const Json*> Require(const Json& object, absl::string_view name,
                                      absl::string_view key) const;

  absl::StatusOr<std::string> String(const Json& value, absl::string_view key) const;
  // Member `name`: `fallback` if absent or null, else it must be a bool.
  absl::StatusOr<bool> OptionalBool(const Json& object, absl::string_view name, bool fallback,
                                    absl::string_view key) const;
  // Member `name`: nullopt if absent or null, else it must be a string.
  absl::StatusOr<std::optional<std::string>> OptionalString(const Json& object,
                                                            absl::string_view name,
                                                            absl::string_view key) const;
  // A token id: an integer in [0, 2^31).
  absl::StatusOr<int32_t> TokenIdValue(const Json& value, absl::string_view key) const;

 private:
  std::string path_;
};

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_JSON_UTIL_H_
