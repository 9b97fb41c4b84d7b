// Writes the demo world's tokenizer: a byte-level BPE tokenizer.json (GPT-2 style: the 256 byte
// tokens, ByteLevel pre-tokenizer and decoder) whose merges make every word of the world one
// token ("Ġfish", and "please" for a prompt's first word), plus the end-of-sequence special token
// "<|endoftext|>" (added_tokens, and eos_token/bos_token in tokenizer_config.json).
//
// Merge design: every word is built left to right by merges (prefix, next character). All merges
// of space-prefixed words rank before those of the one bare word, so inside a pre-token the
// chain that starts at its first character always holds the lowest-ranked candidate and the
// whole word collapses to one token. tokenizer_writer_test.cc checks this for every word.
//
// Thread safety: plain functions.
#ifndef REIN_TOOLS_DEMO_TOKENIZER_WRITER_H_
#define REIN_TOOLS_DEMO_TOKENIZER_WRITER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "tools/demo/world.h"

namespace rein::demo {

inline constexpr absl::string_view kEosToken = "<|endoftext|>";

struct TokenizerFiles {
  nlohmann::json tokenizer_json;
  nlohmann::json tokenizer_config;
  int64_t eos_id = 0;      // the id of kEosToken (the last id)
  int64_t vocab_size = 0;  // eos_id + 1
};

TokenizerFiles BuildTokenizer(const World& world);

// Writes tokenizer.json and tokenizer_config.json into `dir` (which must exist).
absl::Status WriteTokenizer(const TokenizerFiles& files, const std::string& dir);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_TOKENIZER_WRITER_H_
