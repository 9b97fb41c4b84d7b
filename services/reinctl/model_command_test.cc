// Runs the real reinctl binary on the tiny golden checkpoints: `model score` and `model generate`
// reproduce transformers' log-probs and greedy continuations; bad input fails clearly.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/subprocess.h"

namespace rein::reinctl {
namespace {

using Json = nlohmann::json;
using rein::testing::CommandResult;

std::string ModelDir(const std::string& name) {
  return rein::testing::SourcePath(absl::StrCat("tests/data/models/", name));
}

Json Golden(const std::string& name) {
  std::ifstream in(ModelDir(name) + "/golden.json");
  REQUIRE(in);
  return Json::parse(in);
}

CommandResult Run(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {rein::testing::BuiltBinary("reinctl"), "model"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> result = rein::testing::RunCommand(argv, input, absl::Seconds(120));
  if (!result.ok()) FAIL(result.status().ToString());
  return *result;
}

std::vector<Json> Lines(const std::string& text) {
  std::vector<Json> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.push_back(Json::parse(line));
  }
  return lines;
}

std::string PromptLines(const Json& golden) {
  std::string input;
  for (const Json& prompt : golden["greedy"]["prompts"]) {
    input += Json{{"input_ids", prompt}}.dump() + "\n";
  }
  return input;
}

TEST_CASE("reinctl model score prints transformers' log-probs and logits") {
  const Json golden = Golden("tiny-qwen3");
  CommandResult result =
      Run({"score", "--model", ModelDir("tiny-qwen3"), "--logits", "--batch-size", "2"},
          PromptLines(golden));
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  std::vector<Json> lines = Lines(result.stdout_text);
  REQUIRE(lines.size() == 3);
  for (size_t b = 0; b < lines.size(); ++b) {
    const Json& expected = golden["logprobs_next_token"][b];
    REQUIRE(lines[b]["logprobs"].size() == expected.size());
    for (size_t t = 0; t < expected.size(); ++t) {
      CHECK(std::abs(lines[b]["logprobs"][t].get<double>() - expected[t].get<double>()) < 1e-5);
    }
    const Json& logits = lines[b]["logits"];
    REQUIRE(logits.size() == golden["logits"][b].size());
    for (size_t t = 0; t < logits.size(); ++t) {
      REQUIRE(logits[t].size() == 1000);
      for (size_t v = 0; v < 1000; v += 97) {
        CHECK(std::abs(logits[t][v].get<double>() - golden["logits"][b][t][v].get<double>()) <
              1e-5);
      }
    }
  }
}

TEST_CASE("reinctl model generate --greedy gives transformers' continuations") {
  for (const std::string name : {"tiny-gpt2", "tiny-llama3rope"}) {
    const Json golden = Golden(name);
    CommandResult result = Run({"generate", "--model", ModelDir(name), "--greedy",
                                "--max-new-tokens", "8", "--batch-size", "2"},
                               PromptLines(golden));
    INFO(name << ": " << result.stderr_text);
    REQUIRE(result.exit_code == 0);
    std::vector<Json> lines = Lines(result.stdout_text);
    REQUIRE(lines.size() == 3);
    for (size_t b = 0; b < lines.size(); ++b) {
      CHECK(lines[b]["output_ids"] == golden["greedy"]["new_tokens"][b]);
      CHECK(lines[b]["logprobs"].size() == 8);
      CHECK(lines[b]["finish_reason"] == "length");
    }
  }
}

TEST_CASE("reinctl model generate samples reproducibly whatever the batch size") {
  const std::string input =
      PromptLines(Golden("tiny-llama")) + "{\"input_ids\": [5], \"seed\": 9}\n";
  auto run = [&](const std::string& batch, const std::string& seed) {
    CommandResult result =
        Run({"generate", "--model", ModelDir("tiny-llama"), "--max-new-tokens", "6", "--top-k",
             "50", "--top-p", "0.9", "--temperature", "1.5", "--seed", seed, "--batch-size", batch},
            input);
    INFO(result.stderr_text);
    REQUIRE(result.exit_code == 0);
    return Lines(result.stdout_text);
  };
  // Tokens match exactly; log-probs up to the last bits that batch shapes change.
  auto same = [](const Json& a, const Json& b) {
    if (a["output_ids"] != b["output_ids"] || a["finish_reason"] != b["finish_reason"])
      return false;
    for (size_t i = 0; i < a["logprobs"].size(); ++i) {
      if (std::abs(a["logprobs"][i].get<double>() - b["logprobs"][i].get<double>()) > 1e-5) {
        return false;
      }
    }
    return true;
  };
  std::vector<Json> one = run("1", "3"), four = run("4", "3"), other = run("4", "4");
  REQUIRE((one.size() == 4 && four.size() == 4 && other.size() == 4));
  for (size_t i = 0; i < one.size(); ++i) CHECK(same(one[i], four[i]));
  CHECK(other[0]["output_ids"] != one[0]["output_ids"]);
  CHECK(same(other[3], one[3]));  // Line 4 gives its own seed.
}

// A byte-level BPE tokenizer with 1000 ids: bytes first (GPT-2's byte-to-character map), then
// "t256" .. "t999", no merges.
std::string WriteTinyTokenizer() {
  const std::string dir = rein::testing::MakeTempDir("reinctl-model-tokenizer");
  Json vocab = Json::object();
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const int code = printable ? b : 256 + extra++;
    std::string utf8;
    if (code < 0x80) {
      utf8 = std::string(1, static_cast<char>(code));
    } else {
      utf8 = {static_cast<char>(0xC0 | (code >> 6)), static_cast<char>(0x80 | (code & 0x3F))};
    }
    vocab[utf8] = b;
  }
  for (int id = 256; id < 1000; ++id) vocab[absl::StrCat("t", id)] = id;
  std::ofstream(dir + "/vocab.json") << vocab.dump();
  std::ofstream(dir + "/merges.txt") << "#version: 0.2\n";
  return dir;
}

TEST_CASE("reinctl model generate takes text prompts with --tokenizer") {
  const std::string tokenizer = WriteTinyTokenizer();
  const std::vector<std::string> args = {"generate",    "--model",          ModelDir("tiny-llama"),
                                         "--greedy",    "--max-new-tokens", "5",
                                         "--tokenizer", tokenizer};
  CommandResult text = Run(args, "{\"text\": \"hello\"}\n");
  CommandResult ids = Run(args, "{\"input_ids\": [104, 101, 108, 108, 111]}\n");
  INFO(text.stderr_text << ids.stderr_text);
  REQUIRE((text.exit_code == 0 && ids.exit_code == 0));
  std::vector<Json> a = Lines(text.stdout_text), b = Lines(ids.stdout_text);
  REQUIRE((a.size() == 1 && b.size() == 1));
  CHECK(a[0] == b[0]);
  CHECK(a[0]["text"].is_string());
  CommandResult no_tokenizer =
      Run({"generate", "--model", ModelDir("tiny-llama")}, "{\"text\": \"hello\"}\n");
  CHECK(no_tokenizer.exit_code == 1);
  CHECK_THAT(no_tokenizer.stderr_text, Catch::Contains("line 1") && Catch::Contains("--tokenizer"));
  std::filesystem::remove_all(tokenizer);
}

// `reinctl args...` (any subcommand), run to completion.
CommandResult Reinctl(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {rein::testing::BuiltBinary("reinctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> result = rein::testing::RunCommand(argv, input, absl::Seconds(120));
  if (!result.ok()) FAIL(result.status().ToString());
  return *result;
}

// The stdout of a command that must have succeeded.
std::string Succeeded(const CommandResult& result) {
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  return result.stdout_text;
}

// The README's pipeline: tokenize's output is generate's input, and generate's output is
// detokenize's; keys other than the text (here a seed) pass through tokenize.
TEST_CASE("reinctl tokenize output pipes into model generate, and its output into detokenize") {
  const std::string tokenizer = WriteTinyTokenizer();
  const std::string ids =
      Succeeded(Reinctl({"tokenize", "--tokenizer", tokenizer},
                        "{\"text\": \"hello\", \"seed\": 3}\n{\"text\": \"he\"}\n"));
  std::vector<Json> tokenized = Lines(ids);
  REQUIRE(tokenized.size() == 2);
  CHECK(tokenized[0] == Json{{"input_ids", {104, 101, 108, 108, 111}}, {"seed", 3}});
  const std::string generated = Succeeded(Reinctl(
      {"model", "generate", "--model", ModelDir("tiny-llama"), "--max-new-tokens", "4"}, ids));
  std::vector<Json> outputs = Lines(generated);
  REQUIRE(outputs.size() == 2);
  // The seed came through: the first line samples as it does when given directly.
  const std::string direct = Succeeded(
      Reinctl({"model", "generate", "--model", ModelDir("tiny-llama"), "--max-new-tokens", "4"},
              "{\"input_ids\": [104, 101, 108, 108, 111], \"seed\": 3}\n"));
  CHECK(Lines(direct)[0]["output_ids"] == outputs[0]["output_ids"]);
  std::vector<Json> texts =
      Lines(Succeeded(Reinctl({"detokenize", "--tokenizer", tokenizer}, generated)));
  REQUIRE(texts.size() == 2);
  for (const Json& text : texts) CHECK(text["text"].is_string());
  std::filesystem::remove_all(tokenizer);
}

TEST_CASE("reinctl model commands fail clearly on bad input") {
  const std::string model = ModelDir("tiny-llama");
  struct Case {
    std::vector<std::string> args;
    std::string input;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"score", "--model", model},
       "{\"input_ids\": [1, 2]}\n{\"input_ids\": [1, \n",
       "line 2: invalid JSON"},
      {{"score", "--model", model}, "{\"input_ids\": [1, 1000]}\n", "input_ids[1] = 1000"},
      {{"score", "--model", model}, "{\"ids\": [1]}\n", "missing key \"input_ids\""},
      {{"score", "--model", model}, "{\"input_ids\": []}\n", "non-empty array"},
      {{"score", "--model", model + "/nope"}, "", "cannot load the model"},
      {{"generate", "--model", model}, "[1, 2]\n", "line 1: expected a JSON object"},
      {{"generate", "--model", model}, "{\"input_ids\": [-3]}\n", "input_ids[0] = -3"},
      {{"generate", "--model", model}, "{\"input_ids\": [1], \"seed\": -1}\n", "\"seed\""},
      {{"generate", "--model", ModelDir("tiny-gpt2"), "--max-new-tokens", "200"},
       "{\"input_ids\": [1]}\n",
       "positions"},
  };
  for (const Case& c : cases) {
    CommandResult result = Run(c.args, c.input);
    INFO(c.input << " -> " << result.stderr_text);
    CHECK(result.exit_code == 1);
    CHECK(result.stdout_text.empty());
    CHECK_THAT(result.stderr_text, Catch::Contains(c.message));
  }
  CommandResult bad_flag = Run({"generate", "--model", model, "--top-p", "1.5"}, "");
  CHECK(bad_flag.exit_code != 0);
}

}  // namespace
}  // namespace rein::reinctl
