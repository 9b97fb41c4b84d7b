// Where rein-demo's response pairs come from: a stream of prompts, each with two responses
// sampled for it, plus what provenance says about them. `annotate` and `crowd` read a
// PolicyPairSource (sample_pairs.h: a trained policy, LibTorch); tests read a WorldPairSource
// (World::SampleSftResponse, no model), so the feedback code never needs a model to be tested.
//
// Thread safety: a PairSource is used by one thread at a time (it owns a random stream).
#ifndef REIN_TOOLS_DEMO_PAIR_SOURCE_H_
#define REIN_TOOLS_DEMO_PAIR_SOURCE_H_

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rein::demo {

// One prompt and two responses sampled independently for it.
struct SampledPair {
  std::string prompt;
  std::array<std::string, 2> texts;  // each starts with a space (world.h)
  std::array<uint64_t, 2> seeds{};   // the sampling seed of each response
  std::array<bool, 2> stopped{};     // whether each ended with EOS (a proper end)
};

// Whether a response has no visible text (nothing to judge; a policy may stop at once).
bool IsBlankText(absl::string_view text);

class PairSource {
 public:
  virtual ~PairSource() = default;
  // The next `n` pairs of the stream, in order; the stream never repeats a seed.
  virtual absl::StatusOr<std::vector<SampledPair>> Next(int n) = 0;
  // Provenance: what wrote the responses (a model folder) and how, as a JSON object.
  virtual std::string model() const = 0;
  virtual std::string sampling_json() const = 0;
};

// Pairs from the SFT corpus mixture (World::SampleSftResponse) for World::PromptAt prompts (or
// World::RedTeamPromptAt ones), deterministic in `seed`. For tests: responses as a trained SFT
// policy writes them, no model.
class WorldPairSource final : public PairSource {
 public:
  explicit WorldPairSource(uint64_t seed, bool red_team = false)
      : rng_(seed), seed_(seed), red_team_(red_team) {}
  absl::StatusOr<std::vector<SampledPair>> Next(int n) override;
  std::string model() const override { return "world-sft-mixture"; }
  std::string sampling_json() const override { return "{\"mixture\": \"sft\"}"; }

 private:
  std::mt19937_64 rng_;
  uint64_t seed_;
  bool red_team_;
  uint64_t drawn_ = 0;
};

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_PAIR_SOURCE_H_
