// rein.v1.Feedback over the store: campaign and annotator management, status with quality
// figures, export and import. The gRPC server's token auth makes every call an admin call.
//
// Thread safety: handlers run concurrently; the service holds no mutable state of its own
// besides metrics.
#ifndef REIN_SERVICES_FEEDBACK_FEEDBACK_SERVICE_H_
#define REIN_SERVICES_FEEDBACK_FEEDBACK_SERVICE_H_

#include <string>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "rein/v1/feedback.grpc.pb.h"
#include "services/feedback/feedback_store.h"
#include "services/feedback/quality/quality.h"

namespace rein::feedback {

struct FeedbackServiceOptions {
  // Base of invite links: "<public_url>/#invite=<token>".
  std::string public_url;
  quality::QualityOptions quality;
};

class FeedbackService final : public rein::v1::Feedback::Service {
 public:
  // `store` must outlive the service.
  FeedbackService(FeedbackStore* store, FeedbackServiceOptions options,
                  prometheus::Registry& registry);

  grpc::Status CreateCampaign(grpc::ServerContext*, const rein::v1::CreateCampaignRequest*,
                              rein::v1::Campaign*) override;
  grpc::Status UpdateCampaign(grpc::ServerContext*, const rein::v1::UpdateCampaignRequest*,
                              rein::v1::Campaign*) override;
  grpc::Status ListCampaigns(grpc::ServerContext*, const rein::v1::ListCampaignsRequest*,
                             rein::v1::ListCampaignsResponse*) override;
  grpc::Status AddItems(grpc::ServerContext*, const rein::v1::AddItemsRequest*,
                        rein::v1::AddItemsResponse*) override;
  grpc::Status CreateAnnotator(grpc::ServerContext*, const rein::v1::CreateAnnotatorRequest*,
                               rein::v1::CreateAnnotatorResponse*) override;
  grpc::Status ListAnnotators(grpc::ServerContext*, const rein::v1::ListAnnotatorsRequest*,
                              rein::v1::ListAnnotatorsResponse*) override;
  grpc::Status SetAnnotatorPaused(grpc::ServerContext*,
                                  const rein::v1::SetAnnotatorPausedRequest*,
                                  rein::v1::Annotator*) override;
  grpc::Status GetCampaignStatus(grpc::ServerContext*, const rein::v1::GetCampaignStatusRequest*,
                                 rein::v1::CampaignStatus*) override;
  grpc::Status RateVersions(grpc::ServerContext*, const rein::v1::RateVersionsRequest*,
                            rein::v1::RateVersionsResponse*) override;
  grpc::Status Export(grpc::ServerContext*, const rein::v1::ExportRequest*,
                      grpc::ServerWriter<rein::v1::ExportChunk>*) override;
  grpc::Status Import(grpc::ServerContext*, const rein::v1::ImportRequest*,
                      rein::v1::ImportResponse*) override;

  // The status of a campaign (also refreshes the campaign's quality gauges).
  // `include_synthetic`: rate versions from synthetic annotators' judgements too.
  absl::StatusOr<rein::v1::CampaignStatus> Status(const std::string& campaign,
                                                  bool include_synthetic = false);
  // The versions of several campaigns rated together.
  absl::StatusOr<rein::v1::RateVersionsResponse> RatePooled(
      const rein::v1::RateVersionsRequest& request);
  // The export as JSON lines, with the count of records and of items left out.
  struct ExportResult {
    std::string jsonl;
    int records = 0;
    int items_left_out = 0;
  };
  absl::StatusOr<ExportResult> ExportJsonl(const rein::v1::ExportRequest& request);
  absl::StatusOr<rein::v1::ImportResponse> ImportJsonl(const rein::v1::ImportRequest& request);

 private:
  FeedbackStore* store_;
  FeedbackServiceOptions options_;
  prometheus::Family<prometheus::Gauge>& alpha_;
  prometheus::Family<prometheus::Gauge>& left_win_rate_;
  prometheus::Family<prometheus::Gauge>& items_complete_;
  prometheus::Family<prometheus::Gauge>& judgements_;
  prometheus::Family<prometheus::Gauge>& paused_annotators_;
  prometheus::Family<prometheus::Gauge>& version_elo_;
};

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_FEEDBACK_SERVICE_H_
