// The prompts of a run, read from JSON Lines in the formats people already have and tokenised
// once, up front:
//   {"prompt": "Write a haiku about gradients."}
//   {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}]}
// Chat formatting comes from the tokenizer's family (ChatML for Qwen, header tokens for
// Llama 3), ending with the header that opens the assistant's turn.
//
// The dataset hands out batches from a cursor that wraps around at the end (one pass is an
// epoch), and the cursor can be saved and restored so that a resumed run continues with exactly
// the prompts the interrupted one would have taken. Prompts longer than max_prompt_tokens are
// skipped and counted, never truncated.
//
// Thread safety: not thread safe; the coordinator's iteration loop owns it.
#ifndef REIN_COMMON_DATA_PROMPT_DATASET_H_
#define REIN_COMMON_DATA_PROMPT_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::data {

enum class PromptFormat {
  kAuto,  // each line by what it holds: {"messages"} through the chat format, {"prompt"} as is
  kText,  // {"prompt"} encoded as is; {"messages"} is an error
  kChat,  // {"prompt"} becomes one user turn; {"messages"} as given
};

struct PromptDatasetOptions {
  PromptFormat format = PromptFormat::kAuto;
  // Prompts with more tokens are skipped (and counted). Default 1024.
  int max_prompt_tokens = 1024;
};

struct Prompt {
  // Position in the dataset's order of usable prompts (stable across runs).
  uint64_t index = 0;
  std::vector<tokenizer::TokenId> token_ids;
  // The record's optional "category" (red-team sets: "violence", "bias", ...); empty if none.
  std::string category;
};

class PromptDataset {
 public:
  // Reads and tokenises `path`. INVALID_ARGUMENT naming the line for malformed JSON, a record
  // with neither or both of "prompt" and "messages", a bad message, a "category" that is not a
  // string; NOT_FOUND for a missing
  // file; FAILED_PRECONDITION if no prompt is left after skipping over-long ones.
  static absl::StatusOr<std::unique_ptr<PromptDataset>> Load(const std::string& path,
                                                             const tokenizer::Tokenizer& tokenizer,
                                                             const PromptDatasetOptions& options);

  // The next `n` prompts from the cursor, wrapping around at the end.
  std::vector<Prompt> Next(size_t n);

  // Prompts handed out so far over all epochs; Seek(cursor()) after a restart continues the
  // same sequence.
  uint64_t cursor() const { return cursor_; }
  void Seek(uint64_t cursor) { cursor_ = cursor; }

  size_t size() const { return prompts_.size(); }
  // Prompts skipped for being longer than max_prompt_tokens.
  size_t skipped() const { return skipped_; }

 private:
  PromptDataset(std::vector<std::vector<tokenizer::TokenId>> prompts,
                std::vector<std::string> categories, size_t skipped)
      : prompts_(std::move(prompts)), categories_(std::move(categories)), skipped_(skipped) {}

  std::vector<std::vector<tokenizer::TokenId>> prompts_;
  std::vector<std::string> categories_;  // one per prompt
  size_t skipped_;
  uint64_t cursor_ = 0;
};

}  // namespace rein::data

#endif  // REIN_COMMON_DATA_PROMPT_DATASET_H_
