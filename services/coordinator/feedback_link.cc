#include "services/coordinator/feedback_link.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace rein::coordinator {
namespace {

// Items per AddItems call: well under the server's message limit for typical responses.
constexpr size_t kItemsPerCall = 200;

}  // namespace

absl::StatusOr<std::unique_ptr<FeedbackLink>> FeedbackLink::Connect(
    const std::string& address, const rpc::ClientOptions& options, absl::Duration call_timeout) {
  ASSIGN_OR_RETURN(auto channel, rpc::CreateChannel(address, options));
  return std::unique_ptr<FeedbackLink>(
      new FeedbackLink(address, options, call_timeout, rein::v1::Feedback::NewStub(channel)));
}

absl::Status FeedbackLink::Failed(const grpc::Status& status, const char* method) const {
  return FromGrpcStatus(status, absl::StrCat("rein.v1.Feedback/", method, " on ", address_));
}

absl::StatusOr<rein::v1::Campaign> FeedbackLink::EnsureCampaign(const CampaignSpec& spec) const {
  rein::v1::CreateCampaignRequest request;
  request.set_name(spec.name);
  request.set_guidelines_markdown(spec.guidelines_markdown);
  request.add_questions(spec.question);
  request.set_overlap(spec.overlap);
  request.set_gold_rate(spec.gold_rate);
  rein::v1::Campaign campaign;
  auto context = rpc::NewCallContext(options_, call_timeout_);
  grpc::Status created = stub_->CreateCampaign(context.get(), request, &campaign);
  if (created.ok()) return campaign;
  if (created.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    return Failed(created, "CreateCampaign");
  }
  rein::v1::ListCampaignsResponse listed;
  auto list_context = rpc::NewCallContext(options_, call_timeout_);
  grpc::Status status = stub_->ListCampaigns(list_context.get(), {}, &listed);
  if (!status.ok()) return Failed(status, "ListCampaigns");
  for (const rein::v1::Campaign& existing : listed.campaigns()) {
    if (existing.name() == spec.name) return existing;
  }
  return absl::InternalError(
      absl::StrCat("campaign '", spec.name, "' exists on ", address_, " but is not listed"));
}

absl::StatusOr<int> FeedbackLink::AddItems(const std::string& campaign,
                                           const std::vector<rein::v1::Item>& items) const {
  int added = 0;
  for (size_t begin = 0; begin < items.size(); begin += kItemsPerCall) {
    rein::v1::AddItemsRequest request;
    request.set_campaign(campaign);
    const size_t end = std::min(items.size(), begin + kItemsPerCall);
    for (size_t i = begin; i < end; ++i) *request.add_items() = items[i];
    rein::v1::AddItemsResponse response;
    auto context = rpc::NewCallContext(options_, call_timeout_);
    grpc::Status status = stub_->AddItems(context.get(), request, &response);
    if (!status.ok()) return Failed(status, "AddItems");
    added += response.added();
  }
  return added;
}

absl::StatusOr<rein::v1::CampaignStatus> FeedbackLink::Status(const std::string& campaign,
                                                              bool include_synthetic) const {
  rein::v1::GetCampaignStatusRequest request;
  request.set_campaign(campaign);
  request.set_include_synthetic(include_synthetic);
  rein::v1::CampaignStatus status;
  auto context = rpc::NewCallContext(options_, call_timeout_);
  grpc::Status call = stub_->GetCampaignStatus(context.get(), request, &status);
  if (!call.ok()) return Failed(call, "GetCampaignStatus");
  return status;
}

absl::StatusOr<rein::v1::RateVersionsResponse> FeedbackLink::RateVersions(
    const std::vector<std::string>& campaigns, bool include_synthetic) const {
  rein::v1::RateVersionsRequest request;
  for (const std::string& campaign : campaigns) request.add_campaigns(campaign);
  request.set_include_synthetic(include_synthetic);
  rein::v1::RateVersionsResponse response;
  auto context = rpc::NewCallContext(options_, call_timeout_);
  grpc::Status call = stub_->RateVersions(context.get(), request, &response);
  if (!call.ok()) return Failed(call, "RateVersions");
  return response;
}

absl::StatusOr<std::string> FeedbackLink::Export(const std::string& campaign,
                                                 rein::v1::ExportFormat format,
                                                 bool include_synthetic) const {
  rein::v1::ExportRequest request;
  request.set_campaign(campaign);
  request.set_format(format);
  request.set_include_synthetic(include_synthetic);
  auto context = rpc::NewCallContext(options_, call_timeout_);
  std::unique_ptr<grpc::ClientReader<rein::v1::ExportChunk>> reader =
      stub_->Export(context.get(), request);
  std::string jsonl;
  rein::v1::ExportChunk chunk;
  while (reader->Read(&chunk)) jsonl += chunk.jsonl();
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Failed(status, "Export");
  return jsonl;
}

}  // namespace rein::coordinator
