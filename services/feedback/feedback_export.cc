// rein.v1.Feedback Export and Import: a campaign read in one snapshot, aggregated
// (quality/aggregate.h) and written in the learner's formats (formats/export_formats.h); and
// existing preference data brought in as gold items or as prior judgements.
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/feedback/feedback_service.h"
#include "services/feedback/formats/export_formats.h"
#include "services/feedback/formats/import_formats.h"
#include "services/feedback/quality/aggregate.h"

namespace rein::feedback {
namespace {

absl::StatusOr<quality::AggregateOptions> AggregateOptionsFrom(const rein::v1::ExportRequest& r) {
  quality::AggregateOptions options;
  options.method = r.aggregation() == rein::v1::AGGREGATION_RELIABILITY
                       ? quality::AggregationMethod::kReliability
                       : quality::AggregationMethod::kMajority;
  options.include_synthetic = r.include_synthetic();
  options.synthetic_weight = r.synthetic_weight() == 0 ? 1.0 : r.synthetic_weight();
  options.min_margin = r.min_agreement();
  if (options.synthetic_weight < 0) {
    return absl::InvalidArgumentError("synthetic_weight: must be >= 0");
  }
  if (!(options.min_margin >= 0 && options.min_margin <= 1)) {
    return absl::InvalidArgumentError("min_agreement: must be in [0, 1]");
  }
  return options;
}

}  // namespace

absl::StatusOr<FeedbackService::ExportResult> FeedbackService::ExportJsonl(
    const rein::v1::ExportRequest& request) {
  if (request.format() == rein::v1::EXPORT_FORMAT_UNSPECIFIED ||
      !rein::v1::ExportFormat_IsValid(request.format())) {
    return absl::InvalidArgumentError("format: pick pairs, rankings, ratings, unpaired, sft or judgements");
  }
  ASSIGN_OR_RETURN(quality::AggregateOptions aggregate_options, AggregateOptionsFrom(request));
  ASSIGN_OR_RETURN(CampaignData data, store_->LoadCampaign(request.campaign()));
  std::map<std::string, const Item*> items;
  for (const Item& item : data.items) items[item.id] = &item;
  ExportResult out;
  if (request.format() == rein::v1::EXPORT_FORMAT_JUDGEMENTS) {
    std::map<std::string, const Annotator*> annotators;
    for (const Annotator& a : data.annotators) annotators[a.id] = &a;
    for (const Judgement& j : data.judgements) {
      if (j.synthetic && !request.include_synthetic()) continue;
      auto item = items.find(j.item_id);
      auto annotator = annotators.find(j.annotator_id);
      if (item == items.end() || annotator == annotators.end()) continue;
      out.jsonl += JudgementLine(*item->second, j, *annotator->second);
      ++out.records;
    }
    return out;
  }
  ASSIGN_OR_RETURN(quality::QualityReport report,
                   quality::ComputeQuality(data.items, data.judgements, data.annotators,
                                           options_.quality));
  ASSIGN_OR_RETURN(quality::AggregateResult agg,
                   quality::Aggregate(data.items, data.judgements, data.annotators, report,
                                      aggregate_options));
  auto item_of = [&](const std::string& id) -> const Item& { return *items.at(id); };
  switch (request.format()) {
    case rein::v1::EXPORT_FORMAT_PAIRS:
      for (const quality::Preference& p : agg.preferences) {
        out.jsonl += PairLine(item_of(p.item_id), p.chosen, p.rejected, p.margin);
        ++out.records;
      }
      out.items_left_out = agg.dropped_tie + agg.dropped_both_bad + agg.dropped_low_agreement +
                           agg.dropped_no_weight;
      break;
    case rein::v1::EXPORT_FORMAT_RANKINGS:
      for (const quality::RankingConsensus& r : agg.rankings) {
        out.jsonl += RankingLine(item_of(r.item_id), r.order);
        ++out.records;
      }
      out.items_left_out = agg.dropped_tie + agg.dropped_low_agreement + agg.dropped_no_weight;
      break;
    case rein::v1::EXPORT_FORMAT_RATINGS:
      for (const quality::RatingMean& r : agg.ratings) {
        const double first = r.mean.empty() ? 0 : r.mean[0];
        // A record whose ratings are all equal holds no preference (the learner refuses it).
        if (std::all_of(r.mean.begin(), r.mean.end(), [&](double v) { return v == first; })) {
          ++out.items_left_out;
          continue;
        }
        out.jsonl += RatingLine(item_of(r.item_id), r.mean);
        ++out.records;
      }
      break;
    case rein::v1::EXPORT_FORMAT_UNPAIRED:
      for (const quality::FlagLabel& f : agg.flags) {
        for (size_t i = 0; i < f.approved.size(); ++i) {
          out.jsonl += UnpairedLine(item_of(f.item_id), static_cast<int>(i), f.approved[i],
                                    f.categories[i]);
          ++out.records;
        }
      }
      break;
    case rein::v1::EXPORT_FORMAT_SFT:
      for (const quality::Correction& c : agg.corrections) {
        out.jsonl += DemonstrationLine(item_of(c.item_id), c.text);
        ++out.records;
      }
      break;
    default:
      return absl::InvalidArgumentError("format: unknown");
  }
  return out;
}

absl::StatusOr<rein::v1::ImportResponse> FeedbackService::ImportJsonl(
    const rein::v1::ImportRequest& request) {
  if (request.format() != rein::v1::IMPORT_FORMAT_PREFERENCES) {
    return absl::InvalidArgumentError("format: only IMPORT_FORMAT_PREFERENCES is known");
  }
  if (!request.as_gold() && request.prior_annotator().empty()) {
    return absl::InvalidArgumentError(
        "prior_annotator: name the annotator prior judgements are recorded under (or as_gold)");
  }
  ASSIGN_OR_RETURN(Campaign campaign, store_->GetCampaign(request.campaign()));
  const bool pairwise = std::find(campaign.questions.begin(), campaign.questions.end(),
                                  QuestionType::kPairwise) != campaign.questions.end();
  if (!pairwise) {
    return absl::FailedPreconditionError(
        "campaign: importing preferences needs a campaign that asks the pairwise question");
  }
  ASSIGN_OR_RETURN(std::vector<ImportedPair> pairs, ParsePreferenceJsonl(request.jsonl()));
  // Chosen goes first or second by a seeded coin, so a gold item does not always answer "A".
  // Seeds and ids from SHA-256, which (unlike std::hash) is the same on every build, so a
  // re-import finds its items again.
  std::seed_seq seed(campaign.id.begin(), campaign.id.end());
  std::mt19937_64 rng(seed);
  std::vector<Item> items;
  std::vector<bool> chosen_first;
  for (size_t i = 0; i < pairs.size(); ++i) {
    Item item;
    item.external_id = absl::StrCat(
        "import-", HashSecret(absl::StrCat(pairs[i].prompt, "\x1f", pairs[i].chosen, "\x1f",
                                           pairs[i].rejected)).substr(0, 24));
    item.prompt = pairs[i].prompt;
    item.context = pairs[i].context;
    const bool first = rng() % 2 == 0;
    chosen_first.push_back(first);
    Response chosen{pairs[i].chosen, {}}, rejected{pairs[i].rejected, {}};
    item.responses = first ? std::vector<Response>{chosen, rejected}
                           : std::vector<Response>{rejected, chosen};
    item.gold = request.as_gold();
    if (item.gold) item.gold_answer.pairwise = first ? PairwiseChoice::kA : PairwiseChoice::kB;
    items.push_back(std::move(item));
  }
  ASSIGN_OR_RETURN(AddItemsResult added, store_->AddItems(campaign.id, std::move(items)));
  rein::v1::ImportResponse response;
  response.set_items(added.added);
  if (request.as_gold()) return response;
  // Prior judgements: the named annotator takes a slot of each item and submits the recorded
  // preference, so the prior counts towards the item's overlap like any judgement.
  absl::StatusOr<Annotator> prior = store_->GetAnnotator(request.prior_annotator());
  if (absl::IsNotFound(prior.status())) {
    ASSIGN_OR_RETURN(auto created,
                     store_->CreateAnnotator(request.prior_annotator(), AnnotatorRole::kAnnotator,
                                             /*synthetic=*/false));
    prior = created.first;
  }
  RETURN_IF_ERROR(prior.status());
  int judged = 0;
  for (size_t i = 0; i < added.item_ids.size(); ++i) {
    Answers answers;
    answers.pairwise = chosen_first[i] ? PairwiseChoice::kA : PairwiseChoice::kB;
    absl::StatusOr<std::string> id = store_->RecordJudgement(added.item_ids[i], *prior, answers);
    // An item imported before (same content) may already carry this prior: not an error.
    if (absl::IsFailedPrecondition(id.status())) continue;
    RETURN_IF_ERROR(id.status());
    ++judged;
  }
  response.set_judgements(judged);
  return response;
}

}  // namespace rein::feedback
