// Malformed or unsupported tokenizer files fail with a status naming the file and the key.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/testing/subprocess.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::tokenizer {
namespace {

using Json = nlohmann::json;

// A temporary folder removed at the end of the test case.
class TempDir {
 public:
  TempDir() : path_(rein::testing::MakeTempDir("rein_tokenizer_test_")) {}
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& contents) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << contents;
    return file;
  }

 private:
  std::string path_;
};

// The smallest valid byte-level BPE tokenizer.json: "ab" is one token.
Json MinimalTokenizerJson() {
  return Json::parse(R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
    "added_tokens": [{"id": 3, "content": "<eos>", "special": true}],
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"}
  })");
}

absl::Status LoadWith(const Json& tokenizer_json, const std::string& config = "") {
  TempDir dir;
  dir.Write("tokenizer.json", tokenizer_json.dump());
  if (!config.empty()) dir.Write("tokenizer_config.json", config);
  return Tokenizer::FromDirectory(dir.path()).status();
}

// The status is `code` and its message holds every one of `parts`.
void CheckError(const absl::Status& status, absl::StatusCode code,
                std::initializer_list<const char*> parts) {
  INFO(status.ToString());
  CHECK(status.code() == code);
  for (const char* part : parts) CHECK(status.message().find(part) != absl::string_view::npos);
}

TEST_CASE("The minimal tokenizer.json loads") {
  TempDir dir;
  dir.Write("tokenizer.json", MinimalTokenizerJson().dump());
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromDirectory(dir.path());
  REQUIRE(tokenizer.ok());
  CHECK(*(*tokenizer)->Encode("ab<eos>") == std::vector<TokenId>{2, 3});
}

TEST_CASE("Missing folders and files are NOT_FOUND naming the path") {
  CheckError(Tokenizer::FromDirectory("/no/such/dir").status(), absl::StatusCode::kNotFound,
             {"/no/such/dir"});
  TempDir dir;
  CheckError(Tokenizer::FromDirectory(dir.path()).status(), absl::StatusCode::kNotFound,
             {"tokenizer.json", "vocab.json"});
  CheckError(Tokenizer::FromFile(dir.path() + "/tokenizer.json").status(),
             absl::StatusCode::kNotFound, {"tokenizer.json"});
}

TEST_CASE("Invalid JSON names the file and the byte") {
  TempDir dir;
  dir.Write("tokenizer.json", "{\"model\": {\"vocab\": ");
  CheckError(Tokenizer::FromDirectory(dir.path()).status(), absl::StatusCode::kInvalidArgument,
             {"tokenizer.json", "invalid JSON at byte"});
  // A number past a double's range throws out_of_range, not parse_error, from the parser.
  dir.Write("tokenizer.json", "{\"model\": 2222e222222222222}");
  CheckError(Tokenizer::FromDirectory(dir.path()).status(), absl::StatusCode::kInvalidArgument,
             {"tokenizer.json", "invalid JSON", "number overflow"});
}

TEST_CASE("Malformed keys of tokenizer.json are named") {
  Json json = MinimalTokenizerJson();
  json["model"].erase("vocab");
  CheckError(LoadWith(json), absl::StatusCode::kInvalidArgument,
             {"tokenizer.json", "'model.vocab' is missing"});

  json = MinimalTokenizerJson();
  json["model"]["vocab"]["a"] = "zero";
  CheckError(LoadWith(json), absl::StatusCode::kInvalidArgument, {"'model.vocab.a'"});

  json = MinimalTokenizerJson();
  json["model"]["merges"] = Json::array({"a b", "ab"});
  CheckError(LoadWith(json), absl::StatusCode::kInvalidArgument, {"'model.merges[1]'"});

  json = MinimalTokenizerJson();
  json["model"]["merges"] = Json::array({"a c"});
  CheckError(LoadWith(json), absl::StatusCode::kInvalidArgument,
             {"merge 0", "'c' is not in the vocabulary"});

  json = MinimalTokenizerJson();
  json["added_tokens"][0].erase("content");
  CheckError(LoadWith(json), absl::StatusCode::kInvalidArgument,
             {"'added_tokens[0].content' is missing"});

  json = MinimalTokenizerJson();
  json["pre_tokenizer"] = Json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"},
      {"type": "ByteLevel", "use_regex": false}]})");
  CheckError(LoadWith(json), absl::StatusCode::kInvalidArgument, {"does not compile"});
}

TEST_CASE("Components other than byte-level BPE are UNIMPLEMENTED, naming the key") {
  Json json = MinimalTokenizerJson();
  json["model"]["type"] = "WordPiece";
  CheckError(LoadWith(json), absl::StatusCode::kUnimplemented, {"'model.type'", "WordPiece"});

  json = MinimalTokenizerJson();
  json["normalizer"] = Json::parse(R"({"type": "Lowercase"})");
  CheckError(LoadWith(json), absl::StatusCode::kUnimplemented, {"'normalizer.type'"});

  json = MinimalTokenizerJson();
  json["pre_tokenizer"] = Json::parse(R"({"type": "Metaspace"})");
  CheckError(LoadWith(json), absl::StatusCode::kUnimplemented, {"'pre_tokenizer.type'"});

  json = MinimalTokenizerJson();
  json["pre_tokenizer"] = Json::parse(
      R"({"type": "Split", "pattern": {"String": " "}, "behavior": "Isolated"})");
  CheckError(LoadWith(json), absl::StatusCode::kUnimplemented,
             {"'pre_tokenizer'", "no ByteLevel step"});
}

TEST_CASE("tokenizer_config.json errors name that file and the key") {
  CheckError(LoadWith(MinimalTokenizerJson(), "{not json"), absl::StatusCode::kInvalidArgument,
             {"tokenizer_config.json", "invalid JSON"});
  CheckError(LoadWith(MinimalTokenizerJson(), R"({"eos_token": "<nope>"})"),
             absl::StatusCode::kInvalidArgument,
             {"tokenizer_config.json", "'eos_token'", "<nope>"});
  CheckError(LoadWith(MinimalTokenizerJson(), R"({"eos_token": 7})"),
             absl::StatusCode::kInvalidArgument, {"tokenizer_config.json", "'eos_token'"});
  CHECK(LoadWith(MinimalTokenizerJson(), R"({"eos_token": {"content": "<eos>"}})").ok());
}

TEST_CASE("A malformed merges.txt line is named") {
  TempDir dir;
  dir.Write("vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  dir.Write("merges.txt", "#version: 0.2\na b\nab\n");
  CheckError(Tokenizer::FromDirectory(dir.path()).status(), absl::StatusCode::kInvalidArgument,
             {"merges.txt", "line 3"});
}

}  // namespace
}  // namespace rein::tokenizer
