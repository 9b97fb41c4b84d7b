#include "tools/demo/pair_source.h"

#include "tools/demo/world.h"

namespace rein::demo {

bool IsBlankText(absl::string_view text) {
  return text.find_first_not_of(" \t\r\n") == absl::string_view::npos;
}

absl::StatusOr<std::vector<SampledPair>> WorldPairSource::Next(int n) {
  const World& world = World::Get();
  std::vector<SampledPair> pairs;
  pairs.reserve(n > 0 ? static_cast<size_t>(n) : 0);
  std::uniform_int_distribution<int> prompt_index(
      0, (red_team_ ? world.RedTeamPromptCount() : world.PromptCount()) - 1);
  for (int i = 0; i < n; ++i) {
    SampledPair pair;
    const int index = prompt_index(rng_);
    pair.prompt = red_team_ ? world.RedTeamPromptAt(index) : world.PromptAt(index);
    for (int j = 0; j < 2; ++j) {
      pair.texts[j] = world.SampleSftResponseFor(pair.prompt, rng_);
      pair.seeds[j] = seed_ * 1000003ULL + drawn_++;
      pair.stopped[j] = true;  // the mixture writes text; every response "ends"
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

}  // namespace rein::demo
