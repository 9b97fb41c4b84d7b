#include "tools/demo/tokenizer_writer.h"

#include <array>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "tools/demo/jsonl.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else {  // byte-level characters are all below U+0800
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// GPT-2's bytes_to_unicode: printable bytes keep their character, the other 68 take U+0100...
std::array<std::string, 256> ByteLevelChars() {
  std::array<std::string, 256> chars;
  char32_t next_extra = 0x100;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    AppendUtf8(printable ? static_cast<char32_t>(b) : next_extra++, &chars[b]);
  }
  return chars;
}

}  // namespace

TokenizerFiles BuildTokenizer(const World& world) {
  const std::array<std::string, 256> chars = ByteLevelChars();
  Json vocab = Json::object();
  int64_t next_id = 0;
  for (int b = 0; b < 256; ++b) vocab[chars[b]] = next_id++;

  Json merges = Json::array();
  absl::flat_hash_set<std::string> merged;
  // Adds the chain of merges that builds `bytes` character by character.
  auto add_word = [&](const std::string& bytes) {
    std::string prefix = chars[static_cast<uint8_t>(bytes[0])];
    for (size_t i = 1; i < bytes.size(); ++i) {
      const std::string& next = chars[static_cast<uint8_t>(bytes[i])];
      std::string joined = absl::StrCat(prefix, next);
      if (merged.insert(joined).second) {
        merges.push_back(Json::array({prefix, next}));
        vocab[joined] = next_id++;
      }
      prefix = std::move(joined);
    }
  };
  for (const std::string& word : world.spaced_words()) add_word(absl::StrCat(" ", word));
  add_word(std::string(world.first_prompt_word()));

  TokenizerFiles files;
  files.eos_id = next_id;
  files.vocab_size = next_id + 1;
  const std::string eos(kEosToken);
  files.tokenizer_json = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       Json::array({{{"id", files.eos_id},
                     {"content", eos},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
        {"use_regex", true}}},
      {"post_processor",
       {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false},
        {"use_regex", true}}},
      {"decoder",
       {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
        {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", std::move(vocab)},
        {"merges", std::move(merges)}}},
  };
  files.tokenizer_config = {
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"bos_token", eos},
      {"eos_token", eos},
      {"unk_token", nullptr},
      {"pad_token", nullptr},
      {"clean_up_tokenization_spaces", false},
      {"model_max_length", 64},
      {"added_tokens_decoder",
       {{std::to_string(files.eos_id),
         {{"content", eos},
          {"single_word", false},
          {"lstrip", false},
          {"rstrip", false},
          {"normalized", false},
          {"special", true}}}}},
  };
  return files;
}

absl::Status WriteTokenizer(const TokenizerFiles& files, const std::string& dir) {
  const std::filesystem::path root(dir);
  if (absl::Status s = WriteJsonFile((root / "tokenizer.json").string(), files.tokenizer_json);
      !s.ok()) {
    return s;
  }
  return WriteJsonFile((root / "tokenizer_config.json").string(), files.tokenizer_config);
}

}  // namespace rein::demo
