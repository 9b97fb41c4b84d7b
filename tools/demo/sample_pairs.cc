#include "tools/demo/sample_pairs.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "tools/demo/jsonl.h"

namespace rein::demo {

absl::StatusOr<std::unique_ptr<PolicyPairSource>> PolicyPairSource::Create(
    const PolicyPairOptions& o) {
  if (o.policy_dir.empty()) return absl::InvalidArgumentError("--policy is required");
  if (o.prompts_path.empty()) return absl::InvalidArgumentError("--prompts is required");
  if (o.max_new_tokens < 1) return absl::InvalidArgumentError("--max_new_tokens must be >= 1");
  ASSIGN_OR_RETURN(std::vector<std::string> prompts, ReadPrompts(o.prompts_path));
  ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok,
                   LoadTokenizer(o.tokenizer_dir.empty() ? o.policy_dir : o.tokenizer_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> policy,
                   LoadModel(o.policy_dir, model::Heads::kLm, "the policy"));
  std::vector<TokenIds> encoded;
  encoded.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    absl::StatusOr<TokenIds> ids = EncodeText(*tok, prompts[i]);
    if (!ids.ok() || ids->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          o.prompts_path, ": prompt ", i + 1, " cannot be encoded",
          ids.ok() ? std::string(" (no tokens)") : absl::StrCat(": ", ids.status().message())));
    }
    encoded.push_back(*std::move(ids));
  }
  return std::unique_ptr<PolicyPairSource>(new PolicyPairSource(
      o, std::move(prompts), std::move(encoded), std::move(tok), std::move(policy)));
}

PolicyPairSource::PolicyPairSource(PolicyPairOptions options, std::vector<std::string> prompts,
                                   std::vector<TokenIds> encoded,
                                   std::unique_ptr<tokenizer::Tokenizer> tok,
                                   std::unique_ptr<model::CausalLM> policy)
    : options_(std::move(options)),
      prompts_(std::move(prompts)),
      encoded_(std::move(encoded)),
      tokenizer_(std::move(tok)),
      policy_(std::move(policy)),
      order_(prompts_.size()) {
  std::iota(order_.begin(), order_.end(), 0);
  std::mt19937_64 rng(options_.seed);
  std::shuffle(order_.begin(), order_.end(), rng);
}

std::string PolicyPairSource::sampling_json() const {
  return absl::StrFormat(R"({"temperature": 1.0, "max_new_tokens": %d})",
                         options_.max_new_tokens);
}

absl::Status PolicyPairSource::SampleChunk() {
  std::vector<TokenIds> batch;
  std::vector<uint64_t> seeds;
  std::vector<size_t> which;
  for (int i = 0; i < kChunk; ++i) {
    const uint64_t position = sampled_ + static_cast<uint64_t>(i);
    const size_t p = order_[position % order_.size()];
    // The seeds `rein-demo annotate` has always used, so its output does not change.
    const uint64_t base = options_.seed * 1000003ULL + position * 2;
    for (uint64_t j = 0; j < 2; ++j) {
      batch.push_back(encoded_[p]);
      seeds.push_back(base + j);
    }
    which.push_back(p);
  }
  const SampleOptions sample_options{.max_new_tokens = options_.max_new_tokens};
  ASSIGN_OR_RETURN(std::vector<Sample> samples,
                   SampleResponses(*policy_, *tokenizer_, batch, seeds, sample_options));
  const int64_t eos = *tokenizer_->special_ids().eos;
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(buffer_next_));
  buffer_next_ = 0;
  for (size_t i = 0; i < which.size(); ++i) {
    SampledPair pair;
    pair.prompt = prompts_[which[i]];
    for (size_t j = 0; j < 2; ++j) {
      Sample& s = samples[2 * i + j];
      pair.texts[j] = std::move(s.text);
      pair.seeds[j] = seeds[2 * i + j];
      pair.stopped[j] = !s.output_ids.empty() && s.output_ids.back() == eos;
    }
    buffer_.push_back(std::move(pair));
  }
  sampled_ += kChunk;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SampledPair>> PolicyPairSource::Next(int n) {
  std::vector<SampledPair> out;
  while (static_cast<int>(out.size()) < n) {
    if (buffer_next_ == buffer_.size()) RETURN_IF_ERROR(SampleChunk());
    out.push_back(std::move(buffer_[buffer_next_++]));
  }
  return out;
}

}  // namespace rein::demo
