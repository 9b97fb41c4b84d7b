#include "tools/demo/crowd.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "tools/demo/feedback_admin.h"
#include "tools/demo/http_annotator.h"
#include "tools/demo/jsonl.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

absl::Status CheckOptions(const CrowdOptions& o) {
  if (o.feedback_grpc.empty() || o.feedback_http.empty()) {
    return absl::InvalidArgumentError("--feedback-grpc and --feedback-http are required");
  }
  if (o.admin_token_file.empty()) {
    return absl::InvalidArgumentError("--admin-token-file is required");
  }
  if (o.campaign.empty()) return absl::InvalidArgumentError("--campaign is required");
  if (o.items < 1) return absl::InvalidArgumentError("--items must be at least 1");
  if (o.join && o.heldout_pairs > 0) {
    return absl::InvalidArgumentError("--heldout-pairs does not go with --join");
  }
  if (o.question != "pairwise" && o.question != "flag") {
    return absl::InvalidArgumentError("--question must be pairwise or flag");
  }
  if (o.join && o.question != "pairwise") {
    return absl::InvalidArgumentError(
        "--question does not go with --join: the joined campaign has its own question");
  }
  if (o.question == "flag" && o.gold_rate > 0) {
    return absl::InvalidArgumentError(
        "a flag campaign takes no gold items here: set --gold-rate 0");
  }
  if (!(o.gold_rate >= 0 && o.gold_rate < 1)) {
    return absl::InvalidArgumentError("--gold-rate must be in [0, 1)");
  }
  if (o.overlap < 1 || o.overlap > 100) {
    return absl::InvalidArgumentError("--overlap must be in 1..100");
  }
  if (o.annotators < std::max(3, o.overlap + 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--annotators must be at least max(3, overlap + 1) = ", std::max(3, o.overlap + 1),
        ": one is a spammer who gets paused, and every item needs ", o.overlap,
        " different annotators"));
  }
  if (o.heldout_pairs < 0) return absl::InvalidArgumentError("--heldout-pairs must be >= 0");
  if (o.heldout_pairs > 0 && o.heldout_out.empty()) {
    return absl::InvalidArgumentError("--heldout-out is required with --heldout-pairs");
  }
  return absl::OkStatus();
}

// Whether a pair can be judged at all: two visible, different responses.
bool Judgeable(const SampledPair& p) {
  return !IsBlankText(p.texts[0]) && !IsBlankText(p.texts[1]) && p.texts[0] != p.texts[1];
}

rein::v1::Item ToItem(const SampledPair& pair, const PairSource& source, std::string external_id) {
  rein::v1::Item item;
  item.set_external_id(std::move(external_id));
  item.set_prompt(pair.prompt);
  for (int j = 0; j < 2; ++j) {
    rein::v1::ItemResponse* r = item.add_responses();
    r->set_text(pair.texts[j]);
    rein::v1::Provenance* p = r->mutable_provenance();
    p->set_policy_version(-1);  // sampled outside a PPO run: no policy version
    p->set_model(source.model());
    p->set_seed(pair.seeds[j]);
    p->set_sampling_json(source.sampling_json());
    p->set_synthetic(true);
  }
  return item;
}

struct ItemSet {
  std::vector<rein::v1::Item> regular;
  std::vector<rein::v1::Item> gold;
  int skipped = 0;
};

// Regular items first, straight from the stream; then gold items from the pairs that follow,
// keeping only clear ones, so that choosing gold never thins out the regular items' clear pairs.
absl::StatusOr<ItemSet> SampleItems(const CrowdOptions& o, int gold_items, PairSource& source) {
  const World& world = World::Get();
  ItemSet set;
  const int regular_items = o.join ? 0 : o.items;  // a joined campaign has its own
  const int max_pairs = 20 * (o.items + gold_items) + 200;  // for a policy that writes nothing
  int drawn = 0;
  while (static_cast<int>(set.regular.size()) < regular_items && drawn < max_pairs) {
    ASSIGN_OR_RETURN(std::vector<SampledPair> pairs,
                     source.Next(regular_items - static_cast<int>(set.regular.size())));
    for (const SampledPair& pair : pairs) {
      ++drawn;
      if (!Judgeable(pair)) {
        ++set.skipped;
        continue;
      }
      set.regular.push_back(ToItem(pair, source, absl::StrCat("item-", set.regular.size())));
    }
  }
  while (static_cast<int>(set.gold.size()) < gold_items && drawn < max_pairs) {
    ASSIGN_OR_RETURN(std::vector<SampledPair> pairs, source.Next(64));
    for (const SampledPair& pair : pairs) {
      ++drawn;
      if (static_cast<int>(set.gold.size()) == gold_items) break;
      const double u0 = world.UtilityForPrompt(pair.prompt, pair.texts[0]);
      const double u1 = world.UtilityForPrompt(pair.prompt, pair.texts[1]);
      if (!Judgeable(pair) || std::abs(u0 - u1) < kGoldGap) continue;
      const std::string prefix = o.join ? o.campaign + "-" : "";
      rein::v1::Item item = ToItem(pair, source, absl::StrCat(prefix, "gold-", set.gold.size()));
      item.set_gold(true);
      // In item order, as the API's answers object: "a" is responses[0].
      item.set_gold_answer_json(Json{{"pairwise", u0 > u1 ? "a" : "b"}}.dump());
      set.gold.push_back(std::move(item));
    }
  }
  if (static_cast<int>(set.regular.size()) < regular_items ||
      static_cast<int>(set.gold.size()) < gold_items) {
    return absl::FailedPreconditionError(absl::StrCat(
        "after ", drawn, " sampled pairs only ", set.regular.size(), "/", regular_items,
        " items and ",
        set.gold.size(), "/", gold_items,
        " gold items: too many blank or identical responses (is the policy trained?)"));
  }
  return set;
}

// How a simulated annotator of `kind` answers a flag campaign: a response that holds a harm
// word is flagged with that word's category (world.h), the rest approved; the usual rater errs
// (flips its answer) one time in ten, the careful one never, the spammer half the time.
// `flagged` counts the responses it flagged.
JudgeFn MakeFlagger(const std::string& kind, uint64_t seed, std::shared_ptr<int> flagged) {
  auto rng = std::make_shared<std::mt19937_64>(seed ^ 0xF1A6);
  const double error = kind == "careful" ? 0.0 : kind == "spammer" ? 0.5 : 0.1;
  return [rng, error, flagged](const ShownTask& task) -> absl::StatusOr<Verdict> {
    Verdict v;
    v.seconds_spent = 5;
    v.flags.emplace();
    const World& world = World::Get();
    for (const std::string& response : task.responses) {
      const std::vector<std::string> categories = world.HarmCategories(response);
      bool flag = !categories.empty();
      if (std::uniform_real_distribution<double>(0, 1)(*rng) < error) flag = !flag;
      // A wrong flag on a harmless response still names a category.
      v.flags->push_back(!flag ? "" : categories.empty() ? "harmful" : categories.front());
      *flagged += flag;
    }
    return v;
  };
}

// How a simulated annotator of `kind` judges: the hidden utility of each shown response plus
// Bradley-Terry noise, or (spammer) any of the four answers at random. Owns its random
// streams; one thread uses it.
JudgeFn MakeJudge(const std::string& kind, uint64_t seed) {
  struct State {
    Annotator annotator;
    std::mt19937_64 rng;
    std::lognormal_distribution<double> seconds;
  };
  const double temperature = kind == "careful" ? kCarefulTemperature : kAnnotatorTemperature;
  // Seconds a person would take: careful raters read longer, a spammer clicks through.
  const double median_seconds = kind == "careful" ? 15 : kind == "spammer" ? 1.5 : 9;
  auto state = std::make_shared<State>(
      State{Annotator(seed, temperature), std::mt19937_64(seed ^ 0xC0FFEE),
            std::lognormal_distribution<double>(std::log(median_seconds), 0.4)});
  const bool spammer = kind == "spammer";
  return [state, spammer](const ShownTask& task) -> absl::StatusOr<Verdict> {
    if (task.responses.size() != 2) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a pairwise item needs 2 responses, this one shows ", task.responses.size()));
    }
    Verdict v;
    v.seconds_spent = std::min(state->seconds(state->rng), 600.0);
    if (spammer) {
      // Any of the four answers: right on a gold item one time in four.
      static constexpr Pairwise kAnswers[] = {Pairwise::kA, Pairwise::kB, Pairwise::kTie,
                                              Pairwise::kBothBad};
      v.pairwise = kAnswers[std::uniform_int_distribution<int>(0, 3)(state->rng)];
      return v;
    }
    const World& world = World::Get();
    const double u0 = world.UtilityForPrompt(task.prompt, task.responses[0]);
    const double u1 = world.UtilityForPrompt(task.prompt, task.responses[1]);
    const std::optional<bool> first = state->annotator.PrefersFirst(u0, u1);
    v.pairwise = !first.has_value() ? Pairwise::kTie : *first ? Pairwise::kA : Pairwise::kB;
    return v;
  };
}

// Runs every annotator on its own thread; the first failure (by annotator order) is returned.
absl::Status RunAnnotators(const CrowdOptions& o, const rein::v1::Campaign& campaign,
                           const std::vector<std::string>& tokens,
                           std::vector<SimulatedAnnotator>& annotators) {
  const bool flags = std::find(campaign.questions().begin(), campaign.questions().end(),
                               rein::v1::QUESTION_TYPE_FLAG) != campaign.questions().end();
  std::vector<absl::StatusOr<AnnotatorRun>> runs(annotators.size(), AnnotatorRun{});
  std::vector<std::shared_ptr<int>> flagged;
  for (size_t i = 0; i < annotators.size(); ++i) flagged.push_back(std::make_shared<int>(0));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < annotators.size(); ++i) {
    // Each thread writes only runs[i] and *flagged[i]; join() publishes them.
    threads.emplace_back([&, i] {
      HttpAnnotatorOptions options;
      options.http_address = o.feedback_http;
      options.token = tokens[i];
      options.campaign = campaign.id();
      const uint64_t seed = o.seed * 7919 + i;
      runs[i] = RunHttpAnnotator(options, flags ? MakeFlagger(annotators[i].kind, seed, flagged[i])
                                                : MakeJudge(annotators[i].kind, seed));
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < annotators.size(); ++i) annotators[i].flagged = *flagged[i];
  for (size_t i = 0; i < annotators.size(); ++i) {
    if (!runs[i].ok()) {
      return absl::Status(runs[i].status().code(), absl::StrCat("annotator ", annotators[i].name,
                                                                ": ", runs[i].status().message()));
    }
    annotators[i].submitted = runs[i]->submitted;
    annotators[i].throttled = runs[i]->throttled;
    annotators[i].paused = runs[i]->paused;
  }
  return absl::OkStatus();
}

double PairwiseAlpha(const rein::v1::CampaignStatus& s) {
  for (const rein::v1::QuestionQuality& q : s.questions()) {
    if (q.question() == rein::v1::QUESTION_TYPE_PAIRWISE) return q.alpha();
  }
  return NAN;
}

// -1 (the API's "not known yet") and NaN print as "-".
std::string Figure(double v) { return v < 0 || std::isnan(v) ? "-" : absl::StrFormat("%.3f", v); }

void PrintStatus(const CrowdReport& r, std::ostream& out) {
  const rein::v1::CampaignStatus& s = r.status;
  out << absl::StrFormat(
             "crowd: campaign %s: %d items (%d complete), %d gold items, %d judgements submitted, "
             "pairwise alpha %s, left-win rate %s over %d decisive judgements\n",
             s.campaign().name(), s.items(), s.items_complete(), s.gold_items(),
             s.judgements_submitted(), Figure(PairwiseAlpha(s)), Figure(s.left_win_rate()),
             s.pairwise_decisive())
      << absl::StrFormat("  %-28s %-8s %9s %5s %8s %6s %8s %6s\n", "annotator", "kind",
                         "submitted", "gold", "gold acc", "agree", "left-win", "paused");
  for (const rein::v1::AnnotatorQuality& q : s.annotators()) {
    std::string kind = q.synthetic() ? "synthetic" : "person";
    for (const SimulatedAnnotator& a : r.annotators) {
      if (a.name == q.name()) kind = a.kind;
    }
    out << absl::StrFormat("  %-28s %-8s %9d %5d %8s %6s %8s %6s\n", q.name(), kind,
                           q.submitted(), q.gold_judged(), Figure(q.gold_accuracy()),
                           Figure(q.agreement()), Figure(q.left_win_rate()),
                           q.paused() ? "yes" : "no");
  }
}

Json NumberOrNull(double v) { return std::isfinite(v) && v >= 0 ? Json(v) : Json(nullptr); }

Json Summary(const CrowdReport& r) {
  const rein::v1::CampaignStatus& s = r.status;
  Json annotators = Json::array();
  bool spammer_paused = false;
  for (const rein::v1::AnnotatorQuality& q : s.annotators()) {
    std::string kind = "person";
    for (const SimulatedAnnotator& a : r.annotators) {
      if (a.name == q.name()) kind = a.kind;
    }
    if (kind == "spammer") spammer_paused = q.paused();
    int flagged = 0;
    for (const SimulatedAnnotator& a : r.annotators) {
      if (a.name == q.name()) flagged = a.flagged;
    }
    annotators.push_back({{"name", q.name()}, {"kind", kind}, {"synthetic", q.synthetic()},
                          {"submitted", q.submitted()}, {"gold_judged", q.gold_judged()},
                          {"responses_flagged", flagged},
                          {"gold_accuracy", NumberOrNull(q.gold_accuracy())},
                          {"agreement", NumberOrNull(q.agreement())},
                          {"left_win_rate", NumberOrNull(q.left_win_rate())},
                          {"paused", q.paused()}});
  }
  return {{"campaign", s.campaign().name()},
          {"items", s.items()},
          {"gold_items", s.gold_items()},
          {"items_complete", s.items_complete()},
          {"judgements_submitted", s.judgements_submitted()},
          {"pairwise_alpha", NumberOrNull(PairwiseAlpha(s))},
          {"left_win_rate", NumberOrNull(s.left_win_rate())},
          {"spammer_paused", spammer_paused},
          {"heldout_pairs", r.heldout_pairs},
          {"annotators", std::move(annotators)}};
}

// Held-out pairs from the rest of the stream, labelled as `rein-demo annotate` labels them.
absl::StatusOr<int> WriteHeldout(const CrowdOptions& o, PairSource& source) {
  const World& world = World::Get();
  Annotator annotator(o.seed ^ 0x9E3779B97F4A7C15ULL);
  std::vector<Json> lines;
  int drawn = 0;
  while (static_cast<int>(lines.size()) < o.heldout_pairs && drawn < 20 * o.heldout_pairs + 200) {
    ASSIGN_OR_RETURN(std::vector<SampledPair> pairs, source.Next(64));
    for (const SampledPair& p : pairs) {
      ++drawn;
      if (static_cast<int>(lines.size()) == o.heldout_pairs) break;
      if (IsBlankText(p.texts[0]) || IsBlankText(p.texts[1])) continue;
      const std::optional<bool> first =
          annotator.PrefersFirst(world.UtilityForPrompt(p.prompt, p.texts[0]),
                                 world.UtilityForPrompt(p.prompt, p.texts[1]));
      if (!first.has_value()) continue;  // equal utility: no label
      lines.push_back({{"prompt", p.prompt},
                       {"chosen", p.texts[*first ? 0 : 1]},
                       {"rejected", p.texts[*first ? 1 : 0]}});
    }
  }
  RETURN_IF_ERROR(WriteJsonl(o.heldout_out, lines));
  return static_cast<int>(lines.size());
}

absl::StatusOr<rein::v1::Campaign> CreateCrowdCampaign(const CrowdOptions& o,
                                                       FeedbackAdmin& admin) {
  rein::v1::CreateCampaignRequest create;
  create.set_name(o.campaign);
  if (o.question == "flag") {
    create.set_guidelines_markdown(
        "# Is each response safe?\n\n"
        "*Approve* a response that is safe; *flag* one that is harmful or biased, with the "
        "category that applies.\n");
    create.add_questions(rein::v1::QUESTION_TYPE_FLAG);
  } else {
    create.set_guidelines_markdown(
        "# Which response answers the prompt better?\n\n"
        "Prefer responses that stay on the prompt's topic, are short, and end properly with "
        "\".\". Answer *tie* only when neither is better.\n");
    create.add_questions(rein::v1::QUESTION_TYPE_PAIRWISE);
  }
  create.set_overlap(o.overlap);
  create.set_gold_rate(o.gold_rate);
  return admin.CreateCampaign(create);
}

// A joined campaign, once it holds `o.items` regular items (polled; bounded by join_timeout).
absl::StatusOr<rein::v1::Campaign> AwaitCampaign(const CrowdOptions& o, FeedbackAdmin& admin,
                                                 std::ostream& progress) {
  const absl::Duration timeout = absl::Seconds(o.join_timeout_seconds);
  const absl::Time deadline = absl::Now() + timeout;
  progress << "crowd: waiting for campaign " << o.campaign << " to hold " << o.items
           << " items" << std::endl;
  while (true) {
    absl::StatusOr<rein::v1::CampaignStatus> status = admin.GetCampaignStatus(o.campaign);
    if (status.ok() && status->items() - status->gold_items() >= o.items) {
      return status->campaign();
    }
    if (!status.ok() && !absl::IsNotFound(status.status())) return status.status();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "campaign ", o.campaign, " did not hold ", o.items, " items within ",
          absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

}  // namespace

absl::StatusOr<CrowdReport> RunCrowd(const CrowdOptions& o, PairSource& source,
                                     std::ostream& progress) {
  RETURN_IF_ERROR(CheckOptions(o));
  ASSIGN_OR_RETURN(std::string admin_token, ReadTokenFile(o.admin_token_file));
  ASSIGN_OR_RETURN(std::unique_ptr<FeedbackAdmin> admin,
                   FeedbackAdmin::Connect(o.feedback_grpc, admin_token));
  const int gold_items =
      o.gold_rate > 0 ? std::max(1, static_cast<int>(std::lround(o.gold_rate * o.items))) : 0;
  CrowdReport report;

  absl::Time t = absl::Now();
  ASSIGN_OR_RETURN(ItemSet set, SampleItems(o, gold_items, source));
  report.items = o.join ? o.items : static_cast<int>(set.regular.size());
  report.gold_items = static_cast<int>(set.gold.size());
  report.pairs_skipped = set.skipped;
  progress << absl::StrFormat(
                  "crowd: sampled %d items and %d gold items (utility gap >= %g) from %s in "
                  "%.1f s; %d pairs skipped (a blank response or two equal ones)",
                  report.items, report.gold_items, kGoldGap, source.model(),
                  absl::ToDoubleSeconds(absl::Now() - t), report.pairs_skipped)
           << std::endl;

  rein::v1::Campaign campaign;
  if (o.join) {
    ASSIGN_OR_RETURN(campaign, AwaitCampaign(o, *admin, progress));
  } else {
    ASSIGN_OR_RETURN(campaign, CreateCrowdCampaign(o, *admin));
  }
  report.campaign_id = campaign.id();
  std::vector<rein::v1::Item> all = std::move(set.regular);
  all.insert(all.end(), set.gold.begin(), set.gold.end());
  RETURN_IF_ERROR(admin->AddItems(campaign.id(), all).status());

  // Annotators: the usual raters first, then the careful one, then the spammer.
  std::vector<std::string> tokens;
  for (int i = 0; i < o.annotators; ++i) {
    SimulatedAnnotator a;
    a.kind = i == o.annotators - 1 ? "spammer" : i == o.annotators - 2 ? "careful" : "usual";
    a.name = a.kind == "usual" ? absl::StrCat(o.campaign, "-rater-", i + 1)
                               : absl::StrCat(o.campaign, "-", a.kind);
    ASSIGN_OR_RETURN(rein::v1::CreateAnnotatorResponse created,
                     admin->CreateAnnotator(a.name, /*synthetic=*/true));
    tokens.push_back(created.token());
    report.annotators.push_back(std::move(a));
  }
  if (!o.guest.empty()) {
    ASSIGN_OR_RETURN(rein::v1::CreateAnnotatorResponse guest,
                     admin->CreateAnnotator(o.guest, /*synthetic=*/false));
    report.guest_invite_url = guest.invite_url();
  }
  progress << "crowd: campaign " << o.campaign << " (" << campaign.id() << "): "
           << o.annotators << " synthetic annotators judging over HTTP at " << o.feedback_http
           << ", overlap " << o.overlap << ", gold rate " << o.gold_rate << std::endl;

  t = absl::Now();
  RETURN_IF_ERROR(RunAnnotators(o, campaign, tokens, report.annotators));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t);
  int submitted = 0;
  for (const SimulatedAnnotator& a : report.annotators) {
    submitted += a.submitted;
    progress << absl::StrFormat("crowd: %-28s %-8s submitted %5d%s%s%s\n", a.name, a.kind,
                                a.submitted,
                                a.flagged > 0 ? absl::StrCat(", flagged ", a.flagged) : "",
                                a.paused ? "  (paused)" : "",
                                a.throttled > 0 ? absl::StrCat("  (", a.throttled, " x 429)") : "");
  }
  progress << absl::StrFormat("crowd: %d judgements in %.1f s (%.0f per second)\n", submitted,
                              seconds, submitted / std::max(seconds, 1e-9));

  ASSIGN_OR_RETURN(report.status, admin->GetCampaignStatus(campaign.id()));
  PrintStatus(report, progress);
  if (!report.guest_invite_url.empty()) {
    progress << "crowd: invite link for " << o.guest << ": " << report.guest_invite_url << "\n";
  }
  if (o.heldout_pairs > 0) {
    ASSIGN_OR_RETURN(report.heldout_pairs, WriteHeldout(o, source));
    progress << "crowd: wrote " << report.heldout_pairs << " held-out pairs (scripted labels) to "
             << o.heldout_out << "\n";
  }
  if (!o.summary_path.empty()) RETURN_IF_ERROR(WriteJsonFile(o.summary_path, Summary(report)));
  progress.flush();
  return report;
}

}  // namespace rein::demo
