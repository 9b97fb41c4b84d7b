// Runs the real reinctl binary: JSONL in, JSONL out, and clear failures on bad input.
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "common/testing/data_paths.h"
#include "common/testing/subprocess.h"

namespace rein::reinctl {
namespace {

using Json = nlohmann::json;
using rein::testing::CommandResult;

std::string QwenDir() {
  absl::StatusOr<std::string> dir = rein::testing::CachedTokenizerDir("qwen3");
  if (!dir.ok()) FAIL(dir.status().ToString());
  return *dir;
}

CommandResult Run(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {rein::testing::BuiltBinary("reinctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> result =
      rein::testing::RunCommand(argv, input, absl::Seconds(120));
  if (!result.ok()) FAIL(result.status().ToString());
  return *result;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::vector<Json> Golden(size_t count) {
  std::ifstream in(rein::testing::SourcePath("tests/data/tokenizer/qwen3.jsonl"));
  std::vector<Json> lines;
  std::string line;
  while (lines.size() < count && std::getline(in, line)) lines.push_back(Json::parse(line));
  REQUIRE(lines.size() == count);
  return lines;
}

TEST_CASE("reinctl tokenize answers each JSONL line in order with the golden ids") {
  const std::vector<Json> golden = Golden(40);
  std::string input;
  for (const Json& line : golden) input += Json{{"text", line["text"]}}.dump() + "\n";
  CommandResult result = Run({"tokenize", "--tokenizer", QwenDir()}, input);
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  std::vector<std::string> lines = Lines(result.stdout_text);
  REQUIRE(lines.size() == golden.size());
  for (size_t i = 0; i < golden.size(); ++i) {
    CHECK(Json::parse(lines[i]) == Json{{"input_ids", golden[i]["ids"]}});
  }
}

TEST_CASE("reinctl detokenize turns ids back into the text") {
  const std::vector<Json> golden = Golden(40);
  std::string input;
  for (const Json& line : golden) input += Json{{"ids", line["ids"]}}.dump() + "\n";
  CommandResult result = Run({"detokenize", "--tokenizer", QwenDir()}, input);
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  std::vector<std::string> lines = Lines(result.stdout_text);
  REQUIRE(lines.size() == golden.size());
  for (size_t i = 0; i < golden.size(); ++i) {
    if (golden[i]["decoded_roundtrip"].get<bool>()) {
      CHECK(Json::parse(lines[i])["text"] == golden[i]["text"]);
    }
  }
  result = Run({"detokenize", "--tokenizer", QwenDir(), "--skip-special-tokens"},
               "{\"ids\": [151644, 872, 151645]}\n");
  CHECK(result.exit_code == 0);
  CHECK(Json::parse(result.stdout_text) == Json{{"text", "user"}});
}

// Runs `command` on `input` and checks it fails naming `parts` on stderr.
void CheckFails(const std::vector<std::string>& args, const std::string& input,
                std::initializer_list<const char*> parts, size_t answered_lines = 0) {
  CommandResult result = Run(args, input);
  INFO("stderr: " << result.stderr_text);
  CHECK(result.exit_code == 1);
  CHECK(Lines(result.stdout_text).size() == answered_lines);
  for (const char* part : parts) CHECK(result.stderr_text.find(part) != std::string::npos);
}

TEST_CASE("reinctl tokenize names the line of malformed input and exits 1") {
  const std::vector<std::string> tokenize = {"tokenize", "--tokenizer", QwenDir()};
  CheckFails(tokenize, "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n{\"text\": \"x\"}\n",
             {"line 2", "invalid JSON"}, /*answered_lines=*/1);
  CheckFails(tokenize, "{\"txt\": \"a\"}\n", {"line 1", "missing key \"text\""});
  CheckFails(tokenize, "{\"text\": 3}\n", {"line 1", "\"text\" must be a string"});
  CheckFails(tokenize, "{\"text\": \"a\"}\n\n", {"line 2", "empty line"}, 1);
  CheckFails(tokenize, "[1, 2]\n", {"line 1", "expected a JSON object"});
  CheckFails(tokenize, "{\"text\": \"a\", \"n\": 1e999}\n", {"line 1", "number overflow"});
}

TEST_CASE("reinctl detokenize rejects ids that are not tokens, naming line and index") {
  const std::vector<std::string> detokenize = {"detokenize", "--tokenizer", QwenDir()};
  CheckFails(detokenize, "{\"ids\": [1]}\n{\"ids\": [1, 151669]}\n",
             {"line 2", "ids[1] = 151669", "151669"}, 1);
  CheckFails(detokenize, "{\"ids\": [-1]}\n", {"line 1", "ids[0] = -1"});
  CheckFails(detokenize, "{\"ids\": [99999999999]}\n", {"line 1", "ids[0]"});
  CheckFails(detokenize, "{\"ids\": [1.5]}\n", {"line 1", "ids[0] must be an integer"});
  CheckFails(detokenize, "{\"ids\": \"1 2\"}\n", {"line 1", "\"ids\" must be an array"});
  CheckFails(detokenize, "{\"text\": \"a\"}\n", {"line 1", "missing key \"ids\""});
}

TEST_CASE("reinctl tokenize fails clearly on a missing tokenizer folder or flag") {
  CheckFails({"tokenize", "--tokenizer", "/no/such/tokenizer"}, "{\"text\": \"a\"}\n",
             {"cannot load the tokenizer", "/no/such/tokenizer"});
  CommandResult result = Run({"tokenize"}, "");
  CHECK(result.exit_code != 0);
  CHECK(result.stderr_text.find("--tokenizer") != std::string::npos);
}

}  // namespace
}  // namespace rein::reinctl
