#include "services/coordinator/round_items.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/hash/stable_hash.h"

namespace rein::coordinator {

using hash::SplitMix64;

std::vector<PolicyRef> EarlierPolicies(uint32_t round, const PolicyRef& sft,
                                       const PolicyRef& previous) {
  if (round <= 1) return {};
  if (round == 2 || previous == sft) return {sft};
  return {previous, sft};
}

uint64_t RoundSeed(uint64_t run_seed, uint32_t round, uint64_t prompt_index, int side) {
  return SplitMix64(SplitMix64(SplitMix64(run_seed ^ 0x726f756e64ull) + round) +
                    prompt_index * 2 + static_cast<uint64_t>(side));
}

rein::v1::Item RoundItem(uint32_t round, const RoundPair& pair, absl::string_view sampling_json) {
  rein::v1::Item item;
  item.set_external_id(absl::StrCat("round-", round, "-prompt-", pair.prompt_index));
  item.set_prompt(pair.prompt);
  const bool swap = (SplitMix64(pair.seed[0] ^ pair.seed[1]) & 1) != 0;
  for (int shown = 0; shown < 2; ++shown) {
    const int side = swap ? 1 - shown : shown;
    rein::v1::ItemResponse* response = item.add_responses();
    response->set_text(pair.text[side]);
    rein::v1::Provenance* provenance = response->mutable_provenance();
    provenance->set_policy_version(static_cast<int64_t>(pair.policy[side].version));
    provenance->set_model(pair.policy[side].name);
    provenance->set_seed(pair.seed[side]);
    provenance->set_sampling_json(std::string(sampling_json));
  }
  return item;
}

SplitLines SplitHeldout(absl::string_view jsonl, double heldout_fraction, uint64_t salt) {
  SplitLines split;
  // The top 53 bits of the hash as a uniform number in [0, 1).
  constexpr double kScale = 1.0 / static_cast<double>(uint64_t{1} << 53);
  double lowest = 2;
  size_t lowest_at = 0;
  for (absl::string_view line : absl::StrSplit(jsonl, '\n', absl::SkipWhitespace())) {
    const double u = static_cast<double>(hash::HashBytes(line, salt) >> 11) * kScale;
    std::vector<std::string>& side = u < heldout_fraction ? split.heldout : split.train;
    if (&side == &split.train && u < lowest) {
      lowest = u;
      lowest_at = split.train.size();
    }
    side.emplace_back(line);
  }
  // A small export may hold nothing out by chance; one held-out pair still measures something.
  if (heldout_fraction > 0 && split.heldout.empty() && split.train.size() >= 2) {
    split.heldout.push_back(std::move(split.train[lowest_at]));
    split.train.erase(split.train.begin() + static_cast<std::ptrdiff_t>(lowest_at));
  }
  return split;
}

}  // namespace rein::coordinator
