// Response pairs sampled from a policy: the prompts of a file in a seeded order (cycled), two
// responses per prompt at temperature 1, decoded in batches. Shared by `rein-demo annotate`
// (labels written straight to files) and `rein-demo crowd` (items for rein-feedback), so both
// see the same stream for the same seed.
//
// Ownership: owns the policy and the tokenizer. Thread safety: one thread at a time.
#ifndef REIN_TOOLS_DEMO_SAMPLE_PAIRS_H_
#define REIN_TOOLS_DEMO_SAMPLE_PAIRS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"
#include "common/tokenizer/tokenizer.h"
#include "tools/demo/pair_source.h"
#include "tools/demo/policy.h"

namespace rein::demo {

struct PolicyPairOptions {
  std::string policy_dir;      // Required: a CausalLM folder.
  std::string tokenizer_dir;   // Default (empty): policy_dir.
  std::string prompts_path;    // Required: {"prompt"} lines.
  uint64_t seed = 1;           // Prompt order and sampling seeds. Default: 1.
  int64_t max_new_tokens = 24; // Longest response in tokens. Default: 24.
};

class PolicyPairSource final : public PairSource {
 public:
  // Loads the policy, the tokenizer and the prompts (every prompt must encode to >= 1 token).
  static absl::StatusOr<std::unique_ptr<PolicyPairSource>> Create(const PolicyPairOptions& o);

  PolicyPairSource(const PolicyPairSource&) = delete;
  PolicyPairSource& operator=(const PolicyPairSource&) = delete;

  // Samples in chunks of kChunk prompts; pairs of a chunk not asked for yet wait in a buffer.
  absl::StatusOr<std::vector<SampledPair>> Next(int n) override;
  std::string model() const override { return options_.policy_dir; }
  std::string sampling_json() const override;

  static constexpr int kChunk = 64;  // prompts per generation call (two responses each)

 private:
  PolicyPairSource(PolicyPairOptions options, std::vector<std::string> prompts,
                   std::vector<TokenIds> encoded, std::unique_ptr<tokenizer::Tokenizer> tok,
                   std::unique_ptr<model::CausalLM> policy);
  absl::Status SampleChunk();

  const PolicyPairOptions options_;
  const std::vector<std::string> prompts_;
  const std::vector<TokenIds> encoded_;
  const std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  const std::unique_ptr<model::CausalLM> policy_;
  std::vector<size_t> order_;           // seeded permutation of prompt indices
  uint64_t sampled_ = 0;                // prompts sampled so far (the position in the stream)
  std::vector<SampledPair> buffer_;     // sampled, not yet handed out (front first)
  size_t buffer_next_ = 0;
};

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_SAMPLE_PAIRS_H_
