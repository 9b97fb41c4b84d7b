// Loading a Hugging Face tokenizer.json (common/tokenizer): a file either loads or is refused
// with INVALID_ARGUMENT / UNIMPLEMENTED (as Tokenizer::FromFile documents); a tokenizer that
// loads encodes and decodes text, decodes every id it has, and maps ids to tokens and back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using rein::tokenizer::TokenId;
using rein::tokenizer::Tokenizer;

// Most ids decoded one by one: the whole vocabulary of small inputs, a bounded share of a
// large one.
constexpr TokenId kMaxIdsDecoded = 2048;

void Exercise(const Tokenizer& tokenizer) {
  for (const char* text : {"", "hello world", " a  b\n\nc", "ab ab\xc3\xa9\xe4\xb8\xad",
                           "<|endoftext|>x<|im_start|>", "12345 6789 'll 's"}) {
    absl::StatusOr<std::vector<TokenId>> ids = tokenizer.Encode(text);
    FUZZ_CHECK(ids.ok() || ids.status().code() == absl::StatusCode::kInvalidArgument);
    if (!ids.ok()) continue;
    for (TokenId id : *ids) FUZZ_CHECK(tokenizer.IsValidId(id));
    FUZZ_CHECK(tokenizer.Decode(*ids).ok());
  }
  FUZZ_CHECK(!tokenizer.Encode("\xff\xfe").ok());  // not UTF-8
  const TokenId end = std::min(tokenizer.vocab_size(), kMaxIdsDecoded);
  for (TokenId id = 0; id < end; ++id) {
    const TokenId one[] = {id};
    FUZZ_CHECK(tokenizer.Decode(one).ok() == tokenizer.IsValidId(id));
    if (std::optional<std::string> token = tokenizer.IdToToken(id)) {
      FUZZ_CHECK(tokenizer.TokenToId(*token).has_value());
    }
  }
  const TokenId past_end[] = {tokenizer.vocab_size()};
  FUZZ_CHECK(!tokenizer.Decode(past_end).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      rein::fuzz::WriteScratchFile("tokenizer.json", rein::fuzz::AsText(data, size));
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromFile(path);
  if (!tokenizer.ok()) {
    const absl::StatusCode code = tokenizer.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
               code == absl::StatusCode::kUnimplemented);
    return 0;
  }
  Exercise(**tokenizer);
  return 0;
}
