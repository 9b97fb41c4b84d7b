// The pre-tokenizer: splits a section of text into pieces (words) with the Split / ByteLevel
// steps of tokenizer.json, using Oniguruma so that regexes mean what they mean in HF tokenizers
// (Unicode classes \p{L} \p{N}, \s as White_Space, lookahead, (?i:...)). Pieces are raw UTF-8;
// the byte-level mapping is folded into the BPE model's tables.
// Immutable after Create; thread safe (each call uses its own Oniguruma region).
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_PRE_TOKENIZER_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_PRE_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tokenizer/internal/tokenizer_spec.h"

struct re_pattern_buffer;
struct re_registers;

namespace rein::tokenizer::internal {

// Per-call working memory: an Oniguruma match region and storage for pieces that are not views
// of the input (ByteLevel's add_prefix_space). Not thread safe; one per encoding call.
class PreTokenizerScratch {
 public:
  PreTokenizerScratch();
  ~PreTokenizerScratch();
  PreTokenizerScratch(const PreTokenizerScratch&) = delete;
  PreTokenizerScratch& operator=(const PreTokenizerScratch&) = delete;

  re_registers* region() { return region_; }
  // Stores `text` and returns a view that lives as long as this scratch.
  absl::string_view Keep(std::string text);
  std::vector<absl::string_view>& spare() { return spare_; }

 private:
  re_registers* region_;
  std::vector<std::unique_ptr<std::string>> kept_;
  std::vector<absl::string_view> spare_;
};

class PreTokenizer {
 public:
  // INVALID_ARGUMENT naming `source` and the step if a regex does not compile.
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> Create(
      const std::vector<PreTokenizerStep>& steps, absl::string_view source);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Appends the pieces of valid UTF-8 `text` to `pieces` (views of `text` or of `scratch`).
  // INTERNAL if Oniguruma reports a matching error (e.g. its backtracking limit).
  absl::Status Split(absl::string_view text, PreTokenizerScratch* scratch,
                     std::vector<absl::string_view>* pieces) const;

 private:
  struct Step {
    PreTokenizerStep spec;
    re_pattern_buffer* regex = nullptr;  // Owned; null when the step has no pattern.
  };
  PreTokenizer() = default;
  absl::Status RegexSplit(const Step& step, absl::string_view text, PreTokenizerScratch* scratch,
                          std::vector<absl::string_view>* out) const;

  std::vector<Step> steps_;
};

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_PRE_TOKENIZER_H_
