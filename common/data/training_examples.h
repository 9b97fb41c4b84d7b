// The supervised data of the two training modes that come before RL, read from JSON Lines:
//
// SFT examples (learner.mode sft), one per line:
//   {"prompt": "...", "response": "..."}
//   {"messages": [..., {"role": "assistant", "content": "..."}]}   (the last turn is the response)
//
// Preferences (learner.mode reward-model), one judgement per line, best response first:
//   {"prompt": "...", "chosen": "...", "rejected": "...", "margin": 0.5}     (margin optional)
//   {"prompt": "...", "ranked": ["best", "second", ..., "worst"]}
//   {"prompt": "...", "responses": ["a", "b", "c"], "ratings": [3, 5, 3]}  (higher is better;
//                                    sorted best first, equal ratings become ties)
//   {"prompt": "...", "completion": "...", "label": true, "categories": ["harmful"]}
//                                    (unpaired binary feedback, rein-feedback's approve/flag
//                                    export: label true = approved, false = flagged; "categories"
//                                    optional and ignored)
// TRL's forms load as they are (internal/trl_forms.h): SFT's {"prompt", "completion"};
// conversational records, whose "prompt" is a list of messages and whose "chosen", "rejected"
// or "completion" is a list holding one assistant message; and implicit-prompt pairs, where
// "chosen" and "rejected" carry the whole conversation (or text) and their shared start is the
// prompt.
// "messages" may replace "prompt" in every form (for the unpaired form it is the context before
// the completion). A file may mix the forms line by line. Responses are encoded on their own and
// end with the tokenizer's EOS. Records longer than max_prompt_tokens (prompt) or
// max_response_tokens (any response) are skipped and counted, never truncated.
//
// Like PromptDataset, each hands out batches from a cursor that wraps around (one pass is an
// epoch) and can be saved and restored. Thread safety: not thread safe.
#ifndef REIN_COMMON_DATA_TRAINING_EXAMPLES_H_
#define REIN_COMMON_DATA_TRAINING_EXAMPLES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/data/prompt_dataset.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::data {

struct SftExample {
  std::vector<tokenizer::TokenId> prompt_ids;
  std::vector<tokenizer::TokenId> response_ids;  // ends with EOS
};

// A comparison (two or more responses, `label` unset) or an unpaired judgement (exactly one
// response, `label` set). One struct for both so that a mixed file stays one dataset with one
// cursor, in file order.
struct PreferenceExample {
  std::vector<tokenizer::TokenId> prompt_ids;
  // Two or more responses, best first; exactly one when `label` is set. Each ends with EOS.
  std::vector<std::vector<tokenizer::TokenId>> responses;
  // tied_with_next[i]: responses[i] and responses[i + 1] were judged equal. Same size as
  // responses minus one (so empty for an unpaired example).
  std::vector<bool> tied_with_next;
  float margin = 0;  // 0 for rankings, ratings and unpaired examples
  // Set for an unpaired example: its one response was approved (true) or flagged (false).
  std::optional<bool> label;
};

struct TrainingDataOptions {
  PromptFormat format = PromptFormat::kAuto;
  int max_prompt_tokens = 1024;
  int max_response_tokens = 1024;
};

// A loaded dataset of T with a wrapping cursor.
template <typename T>
class ExampleDataset {
 public:
  ExampleDataset(std::vector<T> examples, size_t skipped)
      : examples_(std::move(examples)), skipped_(skipped) {}

  // The next `n` examples from the cursor, wrapping around at the end.
  std::vector<T> Next(size_t n) {
    std::vector<T> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i, ++cursor_) batch.push_back(examples_[cursor_ % examples_.size()]);
    return batch;
  }
  uint64_t cursor() const { return cursor_; }
  void Seek(uint64_t cursor) { cursor_ = cursor; }
  size_t size() const { return examples_.size(); }
  size_t skipped() const { return skipped_; }
  const std::vector<T>& examples() const { return examples_; }

 private:
  std::vector<T> examples_;
  size_t skipped_;
  uint64_t cursor_ = 0;
};

using SftDataset = ExampleDataset<SftExample>;
using PreferenceDataset = ExampleDataset<PreferenceExample>;

// Errors: NOT_FOUND for a missing file; INVALID_ARGUMENT naming the line for a malformed record;
// FAILED_PRECONDITION when nothing usable is left or the tokenizer has no EOS.
absl::StatusOr<std::unique_ptr<SftDataset>> LoadSftDataset(const std::string& path,
                                                           const tokenizer::Tokenizer& tokenizer,
                                                           const TrainingDataOptions& options);
absl::StatusOr<std::unique_ptr<PreferenceDataset>> LoadPreferenceDataset(
    const std::string& path, const tokenizer::Tokenizer& tokenizer,
    const TrainingDataOptions& options);

// The judgements of `dataset` in the shape the offline preference learners train on:
//   paired (dpo, ipo): every comparison becomes the pair (best, worst), two responses; a
//     comparison whose responses are all tied, and every unpaired judgement, is left out;
//   unpaired (kto): every comparison gives its best response as desirable (label true) and its
//     worst as undesirable, unless all are tied; unpaired judgements stay as they are.
// FAILED_PRECONDITION when nothing is left (naming what the mode needs). `left_out` counts the
// judgements that gave nothing.
absl::StatusOr<std::unique_ptr<PreferenceDataset>> OfflinePreferenceView(
    const PreferenceDataset& dataset, bool paired, size_t* left_out = nullptr);

// The approve/flag judgements of `dataset` for a cost model (learner.mode cost-model): the
// unpaired ones with their label inverted, so that "flagged" is the positive class and the
// model's score is the logit of a response being flagged. Comparisons say nothing about harm
// and are left out (counted in `left_out`). FAILED_PRECONDITION when none is left.
absl::StatusOr<std::unique_ptr<PreferenceDataset>> CostModelView(const PreferenceDataset& dataset,
                                                                 size_t* left_out = nullptr);

}  // namespace rein::data

#endif  // REIN_COMMON_DATA_TRAINING_EXAMPLES_H_
