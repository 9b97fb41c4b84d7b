// rein.v1.Feedback: management and status. Export and import are in feedback_export.cc.
#include "services/feedback/feedback_service.h"

#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/rpc/request_limits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/feedback/feedback_proto.h"
#include "services/feedback/version_comparisons.h"

namespace rein::feedback {
namespace {

double OrMinusOne(const std::optional<double>& v) { return v.value_or(-1.0); }

const char* LevelName(quality::AlphaLevel level) {
  switch (level) {
    case quality::AlphaLevel::kNominal: return "nominal";
    case quality::AlphaLevel::kOrdinal: return "ordinal";
    case quality::AlphaLevel::kInterval: return "interval";
  }
  return "";
}

// 200 resamples: the interval to a few Elo points, cheap enough for every status call.
constexpr int kBootstrapSamples = 200;

// Annotators whose judgements do not count: paused by an admin or for low gold accuracy.
std::set<std::string> PausedAnnotators(const quality::QualityReport& report) {
  std::set<std::string> paused;
  for (const quality::AnnotatorQuality& q : report.annotators) {
    if (q.paused) paused.insert(q.annotator_id);
  }
  return paused;
}

void RatingToProto(const RatedVersion& v, rein::v1::VersionRating* out) {
  out->set_policy_version(v.policy_version);
  out->set_elo(v.rating.elo);
  out->set_elo_low(v.rating.low);
  out->set_elo_high(v.rating.high);
  out->set_games(v.rating.games);
  out->set_wins(v.rating.wins);
}

// The strings and counts of AddItems against rpc/request_limits.h, before any item is parsed.
absl::Status CheckAddItems(const rein::v1::AddItemsRequest& request) {
  RETURN_IF_ERROR(rpc::CheckName("campaign", request.campaign()));
  RETURN_IF_ERROR(rpc::CheckCount("items", request.items_size(), rpc::kMaxItemsPerCall));
  for (int i = 0; i < request.items_size(); ++i) {
    const rein::v1::Item& item = request.items(i);
    RETURN_IF_ERROR(rpc::CheckName(absl::StrCat("items[", i, "].external_id"), item.external_id(),
                                   /*allow_empty=*/true));
    for (int r = 0; r < item.responses_size(); ++r) {
      RETURN_IF_ERROR(
          rpc::CheckPath(absl::StrCat("items[", i, "].responses[", r, "].provenance.model"),
                         item.responses(r).provenance().model(),
                         /*allow_empty=*/true));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRateVersions(const rein::v1::RateVersionsRequest& request) {
  RETURN_IF_ERROR(
      rpc::CheckCount("campaigns", request.campaigns_size(), rpc::kMaxCampaignsPerCall));
  for (int i = 0; i < request.campaigns_size(); ++i) {
    RETURN_IF_ERROR(rpc::CheckName(absl::StrCat("campaigns[", i, "]"), request.campaigns(i)));
  }
  return absl::OkStatus();
}

absl::Status CheckImport(const rein::v1::ImportRequest& request) {
  RETURN_IF_ERROR(rpc::CheckName("campaign", request.campaign()));
  RETURN_IF_ERROR(rpc::CheckName("prior_annotator", request.prior_annotator(),
                                 /*allow_empty=*/true));
  if (request.jsonl().size() > rpc::kMaxImportBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("jsonl: ", request.jsonl().size(),
                                                     " bytes in one call, above the limit of ",
                                                     rpc::kMaxImportBytes));
  }
  return absl::OkStatus();
}

}  // namespace

FeedbackService::FeedbackService(FeedbackStore* store, FeedbackServiceOptions options,
                                 prometheus::Registry& registry)
    : store_(store),
      options_(std::move(options)),
      alpha_(prometheus::BuildGauge()
                 .Name("rein_feedback_alpha")
                 .Help("Krippendorff's alpha per campaign and question, at the last status.")
                 .Register(registry)),
      left_win_rate_(prometheus::BuildGauge()
                         .Name("rein_feedback_left_win_rate")
                         .Help("Share of decisive pairwise judgements won by the left response.")
                         .Register(registry)),
      items_complete_(prometheus::BuildGauge()
                          .Name("rein_feedback_items_complete")
                          .Help("Items with every judgement of their overlap submitted.")
                          .Register(registry)),
      judgements_(prometheus::BuildGauge()
                      .Name("rein_feedback_campaign_judgements")
                      .Help("Submitted judgements per campaign, at the last status.")
                      .Register(registry)),
      paused_annotators_(prometheus::BuildGauge()
                             .Name("rein_feedback_paused_annotators")
                             .Help("Paused annotators who judged in the campaign.")
                             .Register(registry)),
      version_elo_(prometheus::BuildGauge()
                       .Name("rein_feedback_version_elo")
                       .Help("Policy versions rated against each other in the campaign (Elo "
                             "relative to the lowest version), at the last status.")
                       .Register(registry)) {}

grpc::Status FeedbackService::CreateCampaign(grpc::ServerContext*,
                                             const rein::v1::CreateCampaignRequest* request,
                                             rein::v1::Campaign* reply) {
  if (absl::Status s = rpc::CheckName("name", request->name()); !s.ok()) return ToGrpcStatus(s);
  Campaign spec;
  spec.name = request->name();
  spec.guidelines_markdown = request->guidelines_markdown();
  for (int i = 0; i < request->questions_size(); ++i) {
    absl::StatusOr<QuestionType> q =
        FromProto(request->questions(i), absl::StrCat("questions[", i, "]"));
    if (!q.ok()) return ToGrpcStatus(q.status());
    spec.questions.push_back(*q);
  }
  spec.overlap = request->overlap() == 0 ? 3 : request->overlap();
  spec.gold_rate = request->gold_rate();
  absl::StatusOr<AnnotatorRole> min_role = FromProto(request->min_role(), "min_role");
  if (!min_role.ok()) return ToGrpcStatus(min_role.status());
  spec.min_role = *min_role;
  absl::StatusOr<Campaign> campaign = store_->CreateCampaign(spec);
  if (!campaign.ok()) return ToGrpcStatus(campaign.status());
  ToProto(*campaign, reply);
  return grpc::Status::OK;
}

grpc::Status FeedbackService::UpdateCampaign(grpc::ServerContext*,
                                             const rein::v1::UpdateCampaignRequest* request,
                                             rein::v1::Campaign* reply) {
  if (absl::Status s = rpc::CheckName("campaign", request->campaign()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  std::optional<std::string> guidelines;
  if (!request->guidelines_markdown().empty()) guidelines = request->guidelines_markdown();
  std::optional<CampaignState> state;
  if (request->state() != rein::v1::CAMPAIGN_STATE_UNSPECIFIED) {
    absl::StatusOr<CampaignState> s = FromProto(request->state(), "state");
    if (!s.ok()) return ToGrpcStatus(s.status());
    state = *s;
  }
  absl::StatusOr<Campaign> campaign = store_->UpdateCampaign(request->campaign(), guidelines, state);
  if (!campaign.ok()) return ToGrpcStatus(campaign.status());
  ToProto(*campaign, reply);
  return grpc::Status::OK;
}

grpc::Status FeedbackService::ListCampaigns(grpc::ServerContext*,
                                            const rein::v1::ListCampaignsRequest*,
                                            rein::v1::ListCampaignsResponse* reply) {
  absl::StatusOr<std::vector<Campaign>> campaigns = store_->ListCampaigns();
  if (!campaigns.ok()) return ToGrpcStatus(campaigns.status());
  for (const Campaign& c : *campaigns) ToProto(c, reply->add_campaigns());
  return grpc::Status::OK;
}

grpc::Status FeedbackService::AddItems(grpc::ServerContext*,
                                       const rein::v1::AddItemsRequest* request,
                                       rein::v1::AddItemsResponse* reply) {
  if (absl::Status s = CheckAddItems(*request); !s.ok()) return ToGrpcStatus(s);
  std::vector<Item> items;
  items.reserve(request->items_size());
  for (int i = 0; i < request->items_size(); ++i) {
    absl::StatusOr<Item> item = FromProto(request->items(i), absl::StrCat("items[", i, "]"));
    if (!item.ok()) return ToGrpcStatus(item.status());
    items.push_back(*std::move(item));
  }
  absl::StatusOr<Campaign> campaign = store_->GetCampaign(request->campaign());
  if (!campaign.ok()) return ToGrpcStatus(campaign.status());
  absl::StatusOr<AddItemsResult> result = store_->AddItems(campaign->id, std::move(items));
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (const std::string& id : result->item_ids) reply->add_item_ids(id);
  reply->set_added(result->added);
  return grpc::Status::OK;
}

grpc::Status FeedbackService::CreateAnnotator(grpc::ServerContext*,
                                              const rein::v1::CreateAnnotatorRequest* request,
                                              rein::v1::CreateAnnotatorResponse* reply) {
  if (absl::Status s = rpc::CheckName("name", request->name()); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<AnnotatorRole> role = FromProto(request->role(), "role");
  if (!role.ok()) return ToGrpcStatus(role.status());
  auto created = store_->CreateAnnotator(request->name(), *role, request->synthetic());
  if (!created.ok()) return ToGrpcStatus(created.status());
  ToProto(created->first, reply->mutable_annotator());
  reply->set_token(created->second);
  reply->set_invite_url(absl::StrCat(options_.public_url, "/#invite=", created->second));
  return grpc::Status::OK;
}

grpc::Status FeedbackService::ListAnnotators(grpc::ServerContext*,
                                             const rein::v1::ListAnnotatorsRequest*,
                                             rein::v1::ListAnnotatorsResponse* reply) {
  absl::StatusOr<std::vector<Annotator>> annotators = store_->ListAnnotators();
  if (!annotators.ok()) return ToGrpcStatus(annotators.status());
  for (const Annotator& a : *annotators) ToProto(a, reply->add_annotators());
  return grpc::Status::OK;
}

grpc::Status FeedbackService::SetAnnotatorPaused(grpc::ServerContext*,
                                                 const rein::v1::SetAnnotatorPausedRequest* request,
                                                 rein::v1::Annotator* reply) {
  if (absl::Status s = rpc::CheckName("annotator", request->annotator()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<Annotator> a = store_->SetAnnotatorPaused(request->annotator(), request->paused());
  if (!a.ok()) return ToGrpcStatus(a.status());
  ToProto(*a, reply);
  return grpc::Status::OK;
}

absl::StatusOr<rein::v1::CampaignStatus> FeedbackService::Status(const std::string& campaign,
                                                                 bool include_synthetic) {
  ASSIGN_OR_RETURN(CampaignData data, store_->LoadCampaign(campaign));
  ASSIGN_OR_RETURN(quality::QualityReport report,
                   quality::ComputeQuality(data.items, data.judgements, data.annotators,
                                           options_.quality));
  rein::v1::CampaignStatus status;
  ToProto(data.campaign, status.mutable_campaign());
  std::map<std::string, int> submitted_per_item;
  std::map<std::string, std::pair<int, int>> per_annotator;  // submitted, skipped
  for (const Judgement& j : data.judgements) {
    if (j.status == JudgementStatus::kSubmitted) {
      ++submitted_per_item[j.item_id];
      status.set_judgements_submitted(status.judgements_submitted() + 1);
      ++per_annotator[j.annotator_id].first;
    } else if (j.status == JudgementStatus::kSkipped) {
      status.set_judgements_skipped(status.judgements_skipped() + 1);
      ++per_annotator[j.annotator_id].second;
    }
  }
  for (const Item& item : data.items) {
    status.set_items(status.items() + 1);
    if (item.gold) {
      status.set_gold_items(status.gold_items() + 1);
    } else if (submitted_per_item[item.id] >= data.campaign.overlap) {
      status.set_items_complete(status.items_complete() + 1);
    }
  }
  status.set_leases_open(data.leases_open);
  status.set_pairwise_decisive(report.position_bias.decisive);
  status.set_left_win_rate(OrMinusOne(report.position_bias.left_win_rate));
  std::map<std::string, const Annotator*> by_id;
  for (const Annotator& a : data.annotators) by_id[a.id] = &a;
  int paused = 0;
  for (const quality::AnnotatorQuality& q : report.annotators) {
    rein::v1::AnnotatorQuality* out = status.add_annotators();
    out->set_annotator_id(q.annotator_id);
    if (auto it = by_id.find(q.annotator_id); it != by_id.end()) out->set_name(it->second->name);
    out->set_synthetic(q.synthetic);
    out->set_paused(q.paused);
    paused += q.paused ? 1 : 0;
    out->set_submitted(per_annotator[q.annotator_id].first);
    out->set_skipped(per_annotator[q.annotator_id].second);
    out->set_gold_judged(q.gold_judged);
    out->set_gold_accuracy(OrMinusOne(q.gold_accuracy));
    out->set_agreement(OrMinusOne(q.agreement));
    out->set_median_seconds(q.median_seconds.value_or(0));
    out->set_left_win_rate(OrMinusOne(q.position_bias.left_win_rate));
  }
  const std::string& name = data.campaign.name;
  for (const quality::QuestionAlpha& a : report.alphas) {
    const bool asked = std::find(data.campaign.questions.begin(), data.campaign.questions.end(),
                                 a.question) != data.campaign.questions.end();
    if (!asked) continue;
    rein::v1::QuestionQuality* out = status.add_questions();
    out->set_question(ToProto(a.question));
    out->set_alpha(a.alpha.value_or(std::nan("")));
    out->set_level(LevelName(a.level));
    out->set_judgements(a.pairable_values);
    alpha_.Add({{"campaign", name}, {"question", Name(a.question)}})
        .Set(a.alpha.value_or(std::nan("")));
  }
  left_win_rate_.Add({{"campaign", name}}).Set(report.position_bias.left_win_rate.value_or(std::nan("")));
  items_complete_.Add({{"campaign", name}}).Set(status.items_complete());
  judgements_.Add({{"campaign", name}}).Set(status.judgements_submitted());
  paused_annotators_.Add({{"campaign", name}}).Set(paused);
  ASSIGN_OR_RETURN(std::vector<RatedVersion> versions,
                   RateCampaignVersions(data, PausedAnnotators(report), include_synthetic,
                                        {.bootstrap_samples = kBootstrapSamples}));
  for (const RatedVersion& v : versions) {
    RatingToProto(v, status.add_versions());
    // The gauge is the people's view; a rating with synthetic votes stays in the reply.
    if (!include_synthetic) {
      version_elo_.Add({{"campaign", name}, {"policy_version", std::to_string(v.policy_version)}})
          .Set(v.rating.elo);
    }
  }
  return status;
}

absl::StatusOr<rein::v1::RateVersionsResponse> FeedbackService::RatePooled(
    const rein::v1::RateVersionsRequest& request) {
  if (request.campaigns().empty()) return absl::InvalidArgumentError("campaigns: none given");
  std::vector<VersionComparisons> pooled;
  rein::v1::RateVersionsResponse response;
  for (const std::string& campaign : request.campaigns()) {
    ASSIGN_OR_RETURN(CampaignData data, store_->LoadCampaign(campaign));
    ASSIGN_OR_RETURN(quality::QualityReport report,
                     quality::ComputeQuality(data.items, data.judgements, data.annotators,
                                             options_.quality));
    pooled.push_back(
        CollectVersionComparisons(data, PausedAnnotators(report), request.include_synthetic()));
    response.set_comparisons(response.comparisons() +
                             static_cast<int32_t>(pooled.back().comparisons.size()));
  }
  ASSIGN_OR_RETURN(std::vector<RatedVersion> versions,
                   RatePooledVersions(pooled, {.bootstrap_samples = kBootstrapSamples}));
  for (const RatedVersion& v : versions) RatingToProto(v, response.add_versions());
  return response;
}

grpc::Status FeedbackService::RateVersions(grpc::ServerContext*,
                                           const rein::v1::RateVersionsRequest* request,
                                           rein::v1::RateVersionsResponse* reply) {
  if (absl::Status s = CheckRateVersions(*request); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<rein::v1::RateVersionsResponse> rated = RatePooled(*request);
  if (!rated.ok()) return ToGrpcStatus(rated.status());
  *reply = *std::move(rated);
  return grpc::Status::OK;
}

grpc::Status FeedbackService::GetCampaignStatus(grpc::ServerContext*,
                                                const rein::v1::GetCampaignStatusRequest* request,
                                                rein::v1::CampaignStatus* reply) {
  if (absl::Status s = rpc::CheckName("campaign", request->campaign()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<rein::v1::CampaignStatus> status =
      Status(request->campaign(), request->include_synthetic());
  if (!status.ok()) return ToGrpcStatus(status.status());
  *reply = *std::move(status);
  return grpc::Status::OK;
}

grpc::Status FeedbackService::Export(grpc::ServerContext* context,
                                     const rein::v1::ExportRequest* request,
                                     grpc::ServerWriter<rein::v1::ExportChunk>* writer) {
  if (absl::Status s = rpc::CheckName("campaign", request->campaign()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<ExportResult> result = ExportJsonl(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  // Chunks of about 1 MiB, cut at line ends so that every chunk is whole JSON lines.
  constexpr size_t kChunk = 1 << 20;
  size_t begin = 0;
  const std::string& text = result->jsonl;
  do {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    size_t end = std::min(text.size(), begin + kChunk);
    if (end < text.size()) {
      const size_t newline = text.rfind('\n', end);
      end = newline == std::string::npos || newline < begin ? text.find('\n', end) + 1 : newline + 1;
    }
    rein::v1::ExportChunk chunk;
    chunk.set_jsonl(text.substr(begin, end - begin));
    if (end >= text.size()) {
      chunk.set_records(result->records);
      chunk.set_items_left_out(result->items_left_out);
    }
    if (!writer->Write(chunk)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
    begin = end;
  } while (begin < text.size());
  return grpc::Status::OK;
}

grpc::Status FeedbackService::Import(grpc::ServerContext*, const rein::v1::ImportRequest* request,
                                     rein::v1::ImportResponse* reply) {
  if (absl::Status s = CheckImport(*request); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<rein::v1::ImportResponse> result = ImportJsonl(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *reply = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace rein::feedback
