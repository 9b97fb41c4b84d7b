#include "common/data/prompt_dataset.h"

#include "absl/strings/str_cat.h"
#include "common/data/internal/jsonl.h"
#include "common/status/status_macros.h"

namespace rein::data {

absl::StatusOr<std::unique_ptr<PromptDataset>> PromptDataset::Load(
    const std::string& path, const tokenizer::Tokenizer& tokenizer,
    const PromptDatasetOptions& options) {
  RETURN_IF_ERROR(internal::CheckPromptFormat(options.format, tokenizer));
  std::vector<std::vector<tokenizer::TokenId>> prompts;
  std::vector<std::string> categories;
  size_t skipped = 0;
  RETURN_IF_ERROR(internal::ForEachRecord(
      path, [&](const internal::Json& record, int line) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<tokenizer::TokenId> ids,
                         internal::EncodePrompt(record, options.format, tokenizer, path, line));
        if (ids.empty()) return internal::LineError(path, line, "prompt encodes to no tokens");
        std::string category;
        if (auto it = record.find("category"); it != record.end()) {
          if (!it->is_string()) {
            return internal::LineError(path, line, "\"category\" must be a string");
          }
          category = it->get<std::string>();
        }
        if (static_cast<int>(ids.size()) > options.max_prompt_tokens) {
          ++skipped;
        } else {
          prompts.push_back(std::move(ids));
          categories.push_back(std::move(category));
        }
        return absl::OkStatus();
      }));
  if (prompts.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no usable prompt in '", path, "' (", skipped, " longer than max_prompt_tokens ",
        options.max_prompt_tokens, ")"));
  }
  return std::unique_ptr<PromptDataset>(
      new PromptDataset(std::move(prompts), std::move(categories), skipped));
}

std::vector<Prompt> PromptDataset::Next(size_t n) {
  std::vector<Prompt> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i, ++cursor_) {
    uint64_t index = cursor_ % prompts_.size();
    batch.push_back({index, prompts_[index], categories_[index]});
  }
  return batch;
}

}  // namespace rein::data
