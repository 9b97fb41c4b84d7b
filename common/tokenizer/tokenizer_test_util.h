// Test helpers: the real tokenizers fetched by scripts/setup.sh, loaded once per test process,
// and the golden JSONL files copied into tests/data/tokenizer/.
#ifndef REIN_COMMON_TOKENIZER_TOKENIZER_TEST_UTIL_H_
#define REIN_COMMON_TOKENIZER_TOKENIZER_TEST_UTIL_H_

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/testing/data_paths.h"
#include "common/testing/subprocess.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::tokenizer::testing {

// The tokenizer `name` ("qwen3", "llama3") from the setup.sh cache; fails the test with the
// instruction to run scripts/setup.sh if it is missing.
inline const Tokenizer& CachedTokenizer(const std::string& name) {
  static auto* loaded = new std::map<std::string, std::unique_ptr<Tokenizer>>();
  auto it = loaded->find(name);
  if (it != loaded->end()) return *it->second;
  absl::StatusOr<std::string> dir = rein::testing::CachedTokenizerDir(name);
  if (!dir.ok()) FAIL(dir.status().ToString());
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromDirectory(*dir);
  if (!tokenizer.ok()) FAIL(tokenizer.status().ToString());
  return *loaded->emplace(name, *std::move(tokenizer)).first->second;
}

struct GoldenCase {
  int line = 0;
  std::string text;
  std::vector<TokenId> ids;
  bool decoded_roundtrip = false;
};

// tests/data/tokenizer/<name>.jsonl: {"text", "ids", "decoded_roundtrip"} per line.
inline std::vector<GoldenCase> ReadGolden(const std::string& name) {
  const std::string path =
      rein::testing::SourcePath("tests/data/tokenizer/" + name + ".jsonl");
  std::ifstream in(path);
  if (!in) FAIL("cannot open " << path);
  std::vector<GoldenCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json value = nlohmann::json::parse(line);
    GoldenCase golden;
    golden.line = static_cast<int>(cases.size()) + 1;
    golden.text = value.at("text").get<std::string>();
    golden.ids = value.at("ids").get<std::vector<TokenId>>();
    golden.decoded_roundtrip = value.at("decoded_roundtrip").get<bool>();
    cases.push_back(std::move(golden));
  }
  return cases;
}

}  // namespace rein::tokenizer::testing

#endif  // REIN_COMMON_TOKENIZER_TOKENIZER_TEST_UTIL_H_
