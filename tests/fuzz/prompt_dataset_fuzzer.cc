// The prompt loader (common/data/prompt_dataset.h) on a JSON Lines file, tokenised with the fixed
// tokenizer in each of the three prompt formats. A file either loads or fails with one of the
// documented codes; a loaded dataset hands out prompts within max_prompt_tokens.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/data/prompt_dataset.h"
#include "tests/fuzz/fixed_tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rein::data::PromptDataset;
  using rein::data::PromptFormat;
  const std::string path =
      rein::fuzz::WriteScratchFile("prompts.jsonl", rein::fuzz::AsText(data, size));
  for (PromptFormat format : {PromptFormat::kAuto, PromptFormat::kText, PromptFormat::kChat}) {
    const rein::data::PromptDatasetOptions options{.format = format, .max_prompt_tokens = 64};
    absl::StatusOr<std::unique_ptr<PromptDataset>> dataset =
        PromptDataset::Load(path, rein::fuzz::FixedTokenizer(), options);
    if (!dataset.ok()) {
      const absl::StatusCode code = dataset.status().code();
      FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                 code == absl::StatusCode::kFailedPrecondition);
      continue;
    }
    for (const rein::data::Prompt& prompt : (*dataset)->Next(3)) {
      FUZZ_CHECK(prompt.token_ids.size() <= 64);
    }
  }
  return 0;
}
