// `rein-demo annotate`: the human-feedback step of the quickstart. Samples two responses per
// prompt from a policy (temperature 1), labels each pair with the scripted Annotator (hidden
// utility + Bradley-Terry noise; ties and empty responses are skipped) and writes
// {"prompt", "chosen", "rejected"} lines, split into training and held-out files.
//
// Thread safety: plain function.
#ifndef REIN_TOOLS_DEMO_ANNOTATE_H_
#define REIN_TOOLS_DEMO_ANNOTATE_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"

namespace rein::demo {

struct AnnotateOptions {
  std::string policy_dir;     // Required: a CausalLM folder.
  std::string tokenizer_dir;  // Default (empty): policy_dir.
  std::string prompts_path;   // Required: {"prompt"} lines, used in a seeded order, cycled.
  int pairs = 1000;           // Labelled pairs to write in all. Default: 1000.
  double heldout_fraction = 0.2;  // In [0, 1). Default: 0.2.
  uint64_t seed = 1;              // Sampling and annotator noise. Default: 1.
  std::string out_train;          // Required.
  std::string out_heldout;        // Required.
  int64_t max_new_tokens = 24;    // Default: 24.
};

struct AnnotateStats {
  int pairs = 0;
  int train_pairs = 0;
  int heldout_pairs = 0;
  int prompts_sampled = 0;
  int ties_dropped = 0;
  int empty_dropped = 0;
  double agreement = 0;        // fraction of labels that prefer the higher utility
  double mean_utility = 0;     // over every sampled response
  double stopped_fraction = 0; // responses that ended with EOS
};

absl::StatusOr<AnnotateStats> RunAnnotate(const AnnotateOptions& options, std::ostream& progress);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_ANNOTATE_H_
