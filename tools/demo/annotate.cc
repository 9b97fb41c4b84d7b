#include "tools/demo/annotate.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "tools/demo/jsonl.h"
#include "tools/demo/sample_pairs.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

absl::Status CheckOptions(const AnnotateOptions& o) {
  if (o.out_train.empty() || o.out_heldout.empty()) {
    return absl::InvalidArgumentError("--out_train and --out_heldout are required");
  }
  if (o.pairs < 1) return absl::InvalidArgumentError("--pairs must be at least 1");
  if (!(o.heldout_fraction >= 0 && o.heldout_fraction < 1)) {
    return absl::InvalidArgumentError("--heldout_fraction must be in [0, 1)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AnnotateStats> RunAnnotate(const AnnotateOptions& o, std::ostream& progress) {
  RETURN_IF_ERROR(CheckOptions(o));
  const World& world = World::Get();
  ASSIGN_OR_RETURN(std::unique_ptr<PolicyPairSource> source,
                   PolicyPairSource::Create({.policy_dir = o.policy_dir,
                                             .tokenizer_dir = o.tokenizer_dir,
                                             .prompts_path = o.prompts_path,
                                             .seed = o.seed,
                                             .max_new_tokens = o.max_new_tokens}));
  Annotator annotator(o.seed ^ 0x9E3779B97F4A7C15ULL);
  AnnotateStats stats;
  std::vector<Json> labelled;
  int agree = 0, responses = 0, stopped = 0;
  double utility_sum = 0;
  // Enough attempts for a policy whose pairs are mostly ties or empty; beyond that, give up.
  const int max_prompts = std::max(20 * o.pairs, 200);
  int next_report = 1;
  progress << "annotate: sampling 2 responses per prompt from " << o.policy_dir << " for "
           << o.pairs << " labelled pairs" << std::endl;
  while (static_cast<int>(labelled.size()) < o.pairs && stats.prompts_sampled < max_prompts) {
    ASSIGN_OR_RETURN(std::vector<SampledPair> pairs, source->Next(PolicyPairSource::kChunk));
    for (size_t i = 0; i < pairs.size() && static_cast<int>(labelled.size()) < o.pairs; ++i) {
      ++stats.prompts_sampled;
      const std::string& prompt = pairs[i].prompt;
      const std::string& a = pairs[i].texts[0];
      const std::string& b = pairs[i].texts[1];
      const double ua = world.UtilityForPrompt(prompt, a);
      const double ub = world.UtilityForPrompt(prompt, b);
      responses += 2;
      stopped += pairs[i].stopped[0] + pairs[i].stopped[1];
      utility_sum += ua + ub;
      if (IsBlankText(a) || IsBlankText(b)) {
        ++stats.empty_dropped;
        continue;
      }
      std::optional<bool> first = annotator.PrefersFirst(ua, ub);
      if (!first.has_value()) {
        ++stats.ties_dropped;
        continue;
      }
      agree += *first == (ua > ub);
      const std::string& chosen = *first ? a : b;
      const std::string& rejected = *first ? b : a;
      labelled.push_back({{"prompt", prompt}, {"chosen", chosen}, {"rejected", rejected}});
      if (static_cast<int>(labelled.size()) * 10 >= next_report * o.pairs) {
        progress << absl::StrFormat(
                        "annotate: %3d%%  %d/%d pairs  (%d prompts sampled, label/utility "
                        "agreement %.3f)",
                        next_report * 10, labelled.size(), o.pairs, stats.prompts_sampled,
                        static_cast<double>(agree) / static_cast<double>(labelled.size()))
                 << std::endl;
        while (static_cast<int>(labelled.size()) * 10 >= next_report * o.pairs) ++next_report;
      }
    }
  }
  if (labelled.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no labelled pair after ", stats.prompts_sampled,
        " prompts: every pair was a tie or had an empty response (is the policy trained?)"));
  }
  if (static_cast<int>(labelled.size()) < o.pairs) {
    progress << "annotate: warning: only " << labelled.size() << " pairs after "
             << stats.prompts_sampled << " prompts (too many ties or empty responses)"
             << std::endl;
  }

  stats.pairs = static_cast<int>(labelled.size());
  stats.heldout_pairs = static_cast<int>(std::lround(stats.pairs * o.heldout_fraction));
  if (o.heldout_fraction > 0 && stats.heldout_pairs == 0 && stats.pairs >= 2) {
    stats.heldout_pairs = 1;
  }
  stats.train_pairs = stats.pairs - stats.heldout_pairs;
  stats.agreement = static_cast<double>(agree) / stats.pairs;
  stats.mean_utility = utility_sum / responses;
  stats.stopped_fraction = static_cast<double>(stopped) / responses;
  const auto split = labelled.begin() + stats.train_pairs;
  RETURN_IF_ERROR(WriteJsonl(o.out_train, std::vector<Json>(labelled.begin(), split)));
  RETURN_IF_ERROR(WriteJsonl(o.out_heldout, std::vector<Json>(split, labelled.end())));
  progress << absl::StrFormat(
                  "annotate: wrote %d training pairs to %s and %d held-out pairs to %s\n"
                  "annotate: %d prompts sampled, %d ties and %d empty responses dropped; mean "
                  "utility of samples %.3f, %.1f%% ended with EOS; label/utility agreement "
                  "%.3f",
                  stats.train_pairs, o.out_train, stats.heldout_pairs, o.out_heldout,
                  stats.prompts_sampled, stats.ties_dropped, stats.empty_dropped,
                  stats.mean_utility, 100 * stats.stopped_fraction, stats.agreement)
           << std::endl;
  return stats;
}

}  // namespace rein::demo
