#include "tools/demo/feedback_admin.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace rein::demo {
namespace {

// Admin calls are small; an export of a large campaign is one snapshot and may take longer.
constexpr absl::Duration kCallDeadline = absl::Seconds(60);
constexpr absl::Duration kExportDeadline = absl::Minutes(5);

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read the token file ", path));
  std::string line;
  std::getline(in, line);
  const std::string token(absl::StripAsciiWhitespace(line));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  }
  return token;
}

absl::StatusOr<std::unique_ptr<FeedbackAdmin>> FeedbackAdmin::Connect(
    const std::string& address, const std::string& admin_token) {
  rpc::ClientOptions options;
  options.auth_token = admin_token;
  options.default_deadline = kCallDeadline;
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, rpc::CreateChannel(address, options));
  return std::unique_ptr<FeedbackAdmin>(
      new FeedbackAdmin(std::move(options), rein::v1::Feedback::NewStub(channel), address));
}

absl::Status FeedbackAdmin::Check(const grpc::Status& status, const char* method) const {
  if (status.ok()) return absl::OkStatus();
  return FromGrpcStatus(status, absl::StrCat("rein.v1.Feedback/", method, " to ", address_));
}

absl::StatusOr<rein::v1::Campaign> FeedbackAdmin::CreateCampaign(
    const rein::v1::CreateCampaignRequest& request) {
  rein::v1::Campaign campaign;
  RETURN_IF_ERROR(Check(
      stub_->CreateCampaign(rpc::NewCallContext(options_).get(), request, &campaign),
      "CreateCampaign"));
  return campaign;
}

absl::StatusOr<std::vector<std::string>> FeedbackAdmin::AddItems(
    const std::string& campaign, const std::vector<rein::v1::Item>& items) {
  std::vector<std::string> ids;
  for (size_t start = 0; start < items.size(); start += kItemsPerCall) {
    rein::v1::AddItemsRequest request;
    request.set_campaign(campaign);
    const size_t end = std::min(items.size(), start + kItemsPerCall);
    for (size_t i = start; i < end; ++i) *request.add_items() = items[i];
    rein::v1::AddItemsResponse reply;
    RETURN_IF_ERROR(Check(stub_->AddItems(rpc::NewCallContext(options_).get(), request, &reply),
                          "AddItems"));
    ids.insert(ids.end(), reply.item_ids().begin(), reply.item_ids().end());
  }
  return ids;
}

absl::StatusOr<rein::v1::CreateAnnotatorResponse> FeedbackAdmin::CreateAnnotator(
    const std::string& name, bool synthetic) {
  rein::v1::CreateAnnotatorRequest request;
  request.set_name(name);
  request.set_role(rein::v1::ANNOTATOR_ROLE_ANNOTATOR);
  request.set_synthetic(synthetic);
  rein::v1::CreateAnnotatorResponse reply;
  RETURN_IF_ERROR(Check(
      stub_->CreateAnnotator(rpc::NewCallContext(options_).get(), request, &reply),
      "CreateAnnotator"));
  return reply;
}

absl::StatusOr<rein::v1::CampaignStatus> FeedbackAdmin::GetCampaignStatus(
    const std::string& campaign) {
  rein::v1::GetCampaignStatusRequest request;
  request.set_campaign(campaign);
  rein::v1::CampaignStatus status;
  RETURN_IF_ERROR(Check(
      stub_->GetCampaignStatus(rpc::NewCallContext(options_).get(), request, &status),
      "GetCampaignStatus"));
  return status;
}

absl::StatusOr<ExportResult> FeedbackAdmin::Export(const rein::v1::ExportRequest& request) {
  auto context = rpc::NewCallContext(options_, kExportDeadline);
  std::unique_ptr<grpc::ClientReader<rein::v1::ExportChunk>> reader =
      stub_->Export(context.get(), request);
  ExportResult result;
  rein::v1::ExportChunk chunk;
  while (reader->Read(&chunk)) {
    result.jsonl += chunk.jsonl();
    // Only the last chunk carries the totals; earlier ones leave them 0.
    if (chunk.records() != 0 || chunk.items_left_out() != 0) {
      result.records = chunk.records();
      result.items_left_out = chunk.items_left_out();
    }
  }
  RETURN_IF_ERROR(Check(reader->Finish(), "Export"));
  return result;
}

}  // namespace rein::demo
