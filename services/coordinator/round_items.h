// The pure parts of a round of feedback, kept apart from the RPCs so they can be tested by hand:
// which policy versions a round compares, the seeds, the campaign items built from sampled
// response pairs, and the split of exported preferences into training and held-out lines.
#ifndef REIN_SERVICES_COORDINATOR_ROUND_ITEMS_H_
#define REIN_SERVICES_COORDINATOR_ROUND_ITEMS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "rein/v1/feedback.pb.h"

namespace rein::coordinator {

// A policy a round samples from: the current one (the rollouts' live weights, `dir` empty), or
// an earlier one loaded from its folder.
struct PolicyRef {
  std::string dir;  // empty = current
  uint64_t version = 0;
  std::string name;  // shown as the response's provenance model: "current", "sft", "iter-50"
  bool operator==(const PolicyRef&) const = default;
};

// The earlier policies round `round` (1-based) judges the current one against: none in round 1
// (two samples of the starting policy), the SFT policy in round 2, and from round 3 on the
// policy that sampled the previous round (`previous`, the checkpoint of round − 2's end) and
// the SFT policy.
std::vector<PolicyRef> EarlierPolicies(uint32_t round, const PolicyRef& sft,
                                       const PolicyRef& previous);

// The sampling seed of side `side` (0, 1) of the pair for the prompt at dataset position
// `prompt_index` in round `round`: a function of those and the run seed only, so a resumed
// round samples what the interrupted one did.
uint64_t RoundSeed(uint64_t run_seed, uint32_t round, uint64_t prompt_index, int side);

// One pair to be judged.
struct RoundPair {
  uint64_t prompt_index = 0;  // position in the rounds' prompt dataset
  std::string prompt;
  std::string text[2];
  PolicyRef policy[2];
  uint64_t seed[2] = {0, 0};
};

// The campaign item of `pair`: external id "round-<r>-prompt-<index>" (AddItems is idempotent
// on it), responses in an order drawn from the pair's seed (so position carries no version
// signal), each with its provenance.
rein::v1::Item RoundItem(uint32_t round, const RoundPair& pair, absl::string_view sampling_json);

// Splits exported JSON lines into training and held-out ones: a line is held out when a hash of
// its text (salted with `salt`) falls under `heldout_fraction`, so the same line lands on the
// same side in every round and after a restart. When that holds nothing out of two or more
// lines (a small export), the line whose hash is lowest is held out.
struct SplitLines {
  std::vector<std::string> train;
  std::vector<std::string> heldout;
};
SplitLines SplitHeldout(absl::string_view jsonl, double heldout_fraction, uint64_t salt);

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_ROUND_ITEMS_H_
