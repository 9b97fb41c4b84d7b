#include "tools/demo/export_campaign.h"

#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::demo {
namespace {

absl::StatusOr<rein::v1::ExportFormat> ParseFormat(const std::string& name) {
  if (name == "pairs") return rein::v1::EXPORT_FORMAT_PAIRS;
  if (name == "rankings") return rein::v1::EXPORT_FORMAT_RANKINGS;
  if (name == "ratings") return rein::v1::EXPORT_FORMAT_RATINGS;
  if (name == "unpaired") return rein::v1::EXPORT_FORMAT_UNPAIRED;
  if (name == "sft") return rein::v1::EXPORT_FORMAT_SFT;
  if (name == "judgements") return rein::v1::EXPORT_FORMAT_JUDGEMENTS;
  return absl::InvalidArgumentError(absl::StrCat(
      "--format '", name, "': pick pairs, rankings, ratings, unpaired, sft or judgements"));
}

}  // namespace

absl::StatusOr<ExportResult> ExportCampaign(const ExportOptions& o, std::ostream& progress) {
  if (o.feedback_grpc.empty() || o.admin_token_file.empty() || o.campaign.empty() ||
      o.out.empty()) {
    return absl::InvalidArgumentError(
        "--feedback-grpc, --admin-token-file, --campaign and --out are required");
  }
  rein::v1::ExportRequest request;
  request.set_campaign(o.campaign);
  ASSIGN_OR_RETURN(rein::v1::ExportFormat format, ParseFormat(o.format));
  request.set_format(format);
  request.set_include_synthetic(o.include_synthetic);
  ASSIGN_OR_RETURN(std::string token, ReadTokenFile(o.admin_token_file));
  ASSIGN_OR_RETURN(std::unique_ptr<FeedbackAdmin> admin,
                   FeedbackAdmin::Connect(o.feedback_grpc, token));
  ASSIGN_OR_RETURN(ExportResult result, admin->Export(request));
  std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
  out << result.jsonl;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", o.out));
  progress << "export: " << result.records << " " << o.format << " records of campaign "
           << o.campaign << " to " << o.out << " (" << result.items_left_out
           << " items left out: ties, both bad or no votes"
           << (o.include_synthetic ? "" : "; synthetic judgements excluded") << ")" << std::endl;
  return result;
}

}  // namespace rein::demo
