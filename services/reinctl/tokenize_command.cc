#include "services/reinctl/tokenize_command.h"

#include <cstdint>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/tokenizer.h"
#include "services/reinctl/command_util.h"

namespace rein::reinctl {
namespace {

using Json = nlohmann::json;
using tokenizer::TokenId;
using tokenizer::Tokenizer;

struct TokenizeFlags {
  std::string tokenizer_dir;
  bool add_special_tokens = false;   // tokenize
  bool skip_special_tokens = false;  // detokenize
};

// Parses one input line into the JSON object it must hold.
absl::StatusOr<Json> ParseLine(const std::string& line) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) {
    return absl::InvalidArgumentError("empty line; expected a JSON object");
  }
  Json value;
  try {
    value = Json::parse(line);
  } catch (const Json::exception& error) {  // parse_error, or out_of_range for "1e999"
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", error.what()));
  }
  if (!value.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  return value;
}

absl::StatusOr<std::string> TextOf(const Json& value) {
  auto it = value.find("text");
  if (it == value.end()) return absl::InvalidArgumentError("missing key \"text\"");
  if (!it->is_string()) return absl::InvalidArgumentError("\"text\" must be a string");
  return it->get<std::string>();
}

// The keys detokenize reads ids from, first found wins: its own, what tokenize writes (and the
// model commands read), and what `reinctl model generate` writes.
constexpr const char* kIdKeys[] = {"ids", "input_ids", "output_ids"};

absl::StatusOr<std::vector<TokenId>> IdsOf(const Json& value, const Tokenizer& tokenizer) {
  auto it = value.end();
  std::string key;
  for (const char* candidate : kIdKeys) {
    if (it == value.end()) it = value.find(key = candidate);
  }
  if (it == value.end()) {
    return absl::InvalidArgumentError("missing key \"ids\" (or \"input_ids\", \"output_ids\")");
  }
  if (!it->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be an array of integers"));
  }
  std::vector<TokenId> ids;
  ids.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& id = (*it)[i];
    if (!id.is_number_integer()) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, "[", i, "] must be an integer, not ", id.dump()));
    }
    const bool in_int32 = id.is_number_unsigned()
                              ? id.get<uint64_t>() <= std::numeric_limits<TokenId>::max()
                              : id.get<int64_t>() >= 0 &&
                                    id.get<int64_t>() <= std::numeric_limits<TokenId>::max();
    if (!in_int32 || !tokenizer.IsValidId(static_cast<TokenId>(id.get<int64_t>()))) {
      return absl::OutOfRangeError(absl::StrCat(key, "[", i, "] = ", id.dump(),
                                                " is not a token id of this tokenizer (ids are "
                                                "in [0, ",
                                                tokenizer.vocab_size(), "))"));
    }
    ids.push_back(static_cast<TokenId>(id.get<int64_t>()));
  }
  return ids;
}

// Reads JSONL from `in` and answers each line through `answer`, which returns the output line.
template <typename Answer>
int Filter(const char* command, const TokenizeFlags& flags, Answer answer) {
  std::ios::sync_with_stdio(false);
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      Tokenizer::FromDirectory(flags.tokenizer_dir);
  if (!tokenizer.ok()) {
    std::cerr << "reinctl " << command << ": cannot load the tokenizer: "
              << tokenizer.status().message() << "\n";
    return 1;
  }
  std::string line;
  for (int64_t number = 1; std::getline(std::cin, line); ++number) {
    absl::StatusOr<std::string> output = absl::InvalidArgumentError("");
    if (absl::StatusOr<Json> value = ParseLine(line); value.ok()) {
      output = answer(**tokenizer, *value);
    } else {
      output = value.status();
    }
    if (!output.ok()) {
      std::cout.flush();
      std::cerr << "reinctl " << command << ": line " << number << ": "
                << output.status().message() << "\n";
      return 1;
    }
    std::cout << *output << '\n';
    if (std::cin.rdbuf()->in_avail() <= 0) std::cout.flush();
  }
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "reinctl " << command << ": writing to stdout failed\n";
    return 1;
  }
  return 0;
}

int RunTokenize(const TokenizeFlags& flags) {
  tokenizer::EncodeOptions options;
  options.add_special_tokens = flags.add_special_tokens;
  return Filter("tokenize", flags,
                [&](const Tokenizer& tokenizer, const Json& value) -> absl::StatusOr<std::string> {
                  absl::StatusOr<std::string> text = TextOf(value);
                  if (!text.ok()) return text.status();
                  absl::StatusOr<std::vector<TokenId>> ids = tokenizer.Encode(*text, options);
                  if (!ids.ok()) return ids.status();
                  // The line's other keys (a seed, an id) pass through, so that the output
                  // feeds `reinctl model generate` or `score` as it is.
                  Json out = value;
                  out.erase("text");
                  out["input_ids"] = *ids;
                  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
                });
}

int RunDetokenize(const TokenizeFlags& flags) {
  tokenizer::DecodeOptions options;
  options.skip_special_tokens = flags.skip_special_tokens;
  return Filter("detokenize", flags,
                [&](const Tokenizer& tokenizer, const Json& value) -> absl::StatusOr<std::string> {
                  absl::StatusOr<std::vector<TokenId>> ids = IdsOf(value, tokenizer);
                  if (!ids.ok()) return ids.status();
                  absl::StatusOr<std::string> text = tokenizer.Decode(*ids, options);
                  if (!text.ok()) return text.status();
                  return Json{{"text", *text}}.dump(-1, ' ', false,
                                                    Json::error_handler_t::replace);
                });
}

}  // namespace

void AddTokenizeCommands(CLI::App& app) {
  auto flags = std::make_shared<TokenizeFlags>();
  const std::string dir_help =
      "Tokenizer folder: tokenizer.json (+ tokenizer_config.json), or vocab.json + merges.txt";

  CLI::App* tokenize = app.add_subcommand(
      "tokenize",
      "Text to token ids: JSONL {\"text\": ...} on stdin, {\"input_ids\": [...]} on stdout "
      "(other keys kept), ready for `reinctl model generate`");
  tokenize->add_option("--tokenizer", flags->tokenizer_dir, dir_help)->required();
  tokenize->add_flag("--add-special-tokens", flags->add_special_tokens,
                     "Add the tokens the tokenizer's post-processor puts around a text (e.g. BOS)");
  tokenize->callback([flags] { ExitWith(RunTokenize(*flags)); });

  CLI::App* detokenize = app.add_subcommand(
      "detokenize",
      "Token ids to text: JSONL {\"ids\" | \"input_ids\" | \"output_ids\": [...]} on stdin, "
      "{\"text\": ...} on stdout");
  detokenize->add_option("--tokenizer", flags->tokenizer_dir, dir_help)->required();
  detokenize->add_flag("--skip-special-tokens", flags->skip_special_tokens,
                       "Leave special tokens (e.g. <|im_end|>) out of the text");
  detokenize->callback([flags] { ExitWith(RunDetokenize(*flags)); });
}

}  // namespace rein::reinctl
