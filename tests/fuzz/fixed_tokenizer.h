// The small tokenizer of tests/fuzz/data/tokenizer (the demo world's byte-level BPE, plus ChatML's
// <|im_start|>/<|im_end|> and a Qwen3-style chat template), loaded once per fuzzer process, for
// the targets whose loaders tokenise what they read.
#ifndef REIN_TESTS_FUZZ_FIXED_TOKENIZER_H_
#define REIN_TESTS_FUZZ_FIXED_TOKENIZER_H_

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace rein::fuzz {

inline const tokenizer::Tokenizer& FixedTokenizer() {
  static const tokenizer::Tokenizer* const loaded = [] {
    absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> t =
        tokenizer::Tokenizer::FromDirectory(DataDir() + "/tokenizer");
    if (!t.ok()) {
      std::fprintf(stderr, "fuzz: %s\n", t.status().ToString().c_str());
      std::abort();
    }
    return t->release();  // used until the process exits
  }();
  return *loaded;
}

}  // namespace rein::fuzz

#endif  // REIN_TESTS_FUZZ_FIXED_TOKENIZER_H_
