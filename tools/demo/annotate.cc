#include "tools/demo/annotate.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "tools/demo/jsonl.h"
#include "tools/demo/policy.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

// Prompts sampled per generation call (two responses each).
constexpr int kChunk = 64;

absl::Status CheckOptions(const AnnotateOptions& o) {
  if (o.policy_dir.empty()) return absl::InvalidArgumentError("--policy is required");
  if (o.prompts_path.empty()) return absl::InvalidArgumentError("--prompts is required");
  if (o.out_train.empty() || o.out_heldout.empty()) {
    return absl::InvalidArgumentError("--out_train and --out_heldout are required");
  }
  if (o.pairs < 1) return absl::InvalidArgumentError("--pairs must be at least 1");
  if (!(o.heldout_fraction >= 0 && o.heldout_fraction < 1)) {
    return absl::InvalidArgumentError("--heldout_fraction must be in [0, 1)");
  }
  if (o.max_new_tokens < 1) return absl::InvalidArgumentError("--max_new_tokens must be >= 1");
  return absl::OkStatus();
}

bool IsBlank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace

absl::StatusOr<AnnotateStats> RunAnnotate(const AnnotateOptions& o, std::ostream& progress) {
  RETURN_IF_ERROR(CheckOptions(o));
  const World& world = World::Get();
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
  std::mt19937_64 rng(o.seed);
  std::vector<size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);

  Annotator annotator(o.seed ^ 0x9E3779B97F4A7C15ULL);
  AnnotateStats stats;
  std::vector<Json> labelled;
  int agree = 0, responses = 0, stopped = 0;
  double utility_sum = 0;
  // Enough attempts for a policy whose pairs are mostly ties or empty; beyond that, give up.
  const int max_prompts = std::max(20 * o.pairs, 200);
  const SampleOptions sample_options{.max_new_tokens = o.max_new_tokens};
  const int64_t eos = *tok->special_ids().eos;
  int next_report = 1;
  progress << "annotate: sampling 2 responses per prompt from " << o.policy_dir << " for "
           << o.pairs << " labelled pairs" << std::endl;
  while (static_cast<int>(labelled.size()) < o.pairs && stats.prompts_sampled < max_prompts) {
    std::vector<TokenIds> batch;
    std::vector<uint64_t> seeds;
    std::vector<size_t> which;
    for (int i = 0; i < kChunk; ++i) {
      const size_t p = order[static_cast<size_t>(stats.prompts_sampled + i) % order.size()];
      const uint64_t base = o.seed * 1000003ULL + static_cast<uint64_t>(stats.prompts_sampled + i) * 2;
      for (int j = 0; j < 2; ++j) {
        batch.push_back(encoded[p]);
        seeds.push_back(base + static_cast<uint64_t>(j));
      }
      which.push_back(p);
    }
    ASSIGN_OR_RETURN(std::vector<Sample> samples,
                     SampleResponses(*policy, *tok, batch, seeds, sample_options));
    for (size_t i = 0; i < which.size() && static_cast<int>(labelled.size()) < o.pairs; ++i) {
      ++stats.prompts_sampled;
      const std::string& prompt = prompts[which[i]];
      const Sample& a = samples[2 * i];
      const Sample& b = samples[2 * i + 1];
      const double ua = world.UtilityForPrompt(prompt, a.text);
      const double ub = world.UtilityForPrompt(prompt, b.text);
      for (const Sample* s : {&a, &b}) {
        ++responses;
        stopped += !s->output_ids.empty() && s->output_ids.back() == eos;
      }
      utility_sum += ua + ub;
      if (IsBlank(a.text) || IsBlank(b.text)) {
        ++stats.empty_dropped;
        continue;
      }
      std::optional<bool> first = annotator.PrefersFirst(ua, ub);
      if (!first.has_value()) {
        ++stats.ties_dropped;
        continue;
      }
      agree += *first == (ua > ub);
      const Sample& chosen = *first ? a : b;
      const Sample& rejected = *first ? b : a;
      labelled.push_back({{"prompt", prompt}, {"chosen", chosen.text}, {"rejected", rejected.text}});
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
