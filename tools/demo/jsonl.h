// JSON Lines in and out for rein-demo: prompts, SFT examples and preference pairs. Errors name
// the file and the 1-based line ("prefs.jsonl:12: missing string \"chosen\""). Blank lines are
// skipped.
//
// Thread safety: plain functions.
#ifndef REIN_TOOLS_DEMO_JSONL_H_
#define REIN_TOOLS_DEMO_JSONL_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rein::demo {

struct PreferencePair {
  std::string prompt;
  std::string chosen;
  std::string rejected;
};

// Every line of `path` as a JSON object. NOT_FOUND if the file is missing; INVALID_ARGUMENT
// naming the line for a line that is not a JSON object.
absl::StatusOr<std::vector<nlohmann::json>> ReadJsonl(const std::string& path);
// The "prompt" of every line; INVALID_ARGUMENT naming the line if one has none, and if the file
// holds no prompt at all.
absl::StatusOr<std::vector<std::string>> ReadPrompts(const std::string& path);
// {"prompt", "chosen", "rejected"} lines; at least one.
absl::StatusOr<std::vector<PreferencePair>> ReadPreferences(const std::string& path);

// Writes one compact JSON value per line, replacing `path`.
absl::Status WriteJsonl(const std::string& path, const std::vector<nlohmann::json>& lines);
// Writes one pretty-printed JSON value, replacing `path`.
absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& value);
// Reads one JSON value from `path`.
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_JSONL_H_
