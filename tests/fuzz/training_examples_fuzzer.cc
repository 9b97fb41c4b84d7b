// The SFT and preference loaders (common/data/training_examples.h) on one JSON Lines file, and
// the offline-preference and cost-model views of what loads. Each either succeeds or fails with
// a documented code; loaded examples respect the token limits and end with EOS.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/data/training_examples.h"
#include "tests/fuzz/fixed_tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using rein::data::PreferenceDataset;
using rein::data::SftDataset;

constexpr int kMaxTokens = 64;

bool DocumentedLoadError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kFailedPrecondition;
}

void CheckViews(const PreferenceDataset& dataset) {
  for (bool paired : {true, false}) {
    absl::StatusOr<std::unique_ptr<PreferenceDataset>> view =
        rein::data::OfflinePreferenceView(dataset, paired);
    FUZZ_CHECK(view.ok() || view.status().code() == absl::StatusCode::kFailedPrecondition);
  }
  absl::StatusOr<std::unique_ptr<PreferenceDataset>> cost = rein::data::CostModelView(dataset);
  FUZZ_CHECK(cost.ok() || cost.status().code() == absl::StatusCode::kFailedPrecondition);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      rein::fuzz::WriteScratchFile("train.jsonl", rein::fuzz::AsText(data, size));
  const rein::tokenizer::Tokenizer& tokenizer = rein::fuzz::FixedTokenizer();
  const rein::data::TrainingDataOptions options{.max_prompt_tokens = kMaxTokens,
                                                .max_response_tokens = kMaxTokens};
  const rein::tokenizer::TokenId eos = *tokenizer.special_ids().eos;

  absl::StatusOr<std::unique_ptr<SftDataset>> sft =
      rein::data::LoadSftDataset(path, tokenizer, options);
  if (sft.ok()) {
    for (const rein::data::SftExample& example : (*sft)->examples()) {
      FUZZ_CHECK(!example.response_ids.empty() && example.response_ids.back() == eos);
    }
  } else {
    FUZZ_CHECK(DocumentedLoadError(sft.status()));
  }

  absl::StatusOr<std::unique_ptr<PreferenceDataset>> preferences =
      rein::data::LoadPreferenceDataset(path, tokenizer, options);
  if (!preferences.ok()) {
    FUZZ_CHECK(DocumentedLoadError(preferences.status()));
    return 0;
  }
  for (const rein::data::PreferenceExample& example : (*preferences)->examples()) {
    FUZZ_CHECK(!example.responses.empty());
    for (const auto& response : example.responses) {
      FUZZ_CHECK(!response.empty() && response.back() == eos);
    }
  }
  CheckViews(**preferences);
  return 0;
}
