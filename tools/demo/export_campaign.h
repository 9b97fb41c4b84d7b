// `rein-demo export`: a campaign's judgements from rein-feedback (rein.v1.Feedback/Export) into
// a JSON Lines file, e.g. pairs for `learner.mode: reward-model`. The quickstart uses
// `reinctl feedback export` when that exists and this otherwise; both speak the same RPC.
//
// Thread safety: plain function.
#ifndef REIN_TOOLS_DEMO_EXPORT_CAMPAIGN_H_
#define REIN_TOOLS_DEMO_EXPORT_CAMPAIGN_H_

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "tools/demo/feedback_admin.h"

namespace rein::demo {

struct ExportOptions {
  std::string feedback_grpc;     // Required: rein-feedback's gRPC "host:port".
  std::string admin_token_file;  // Required.
  std::string campaign;          // Required: id or name.
  // pairs | rankings | ratings | unpaired | sft | judgements. Default: pairs.
  std::string format = "pairs";
  bool include_synthetic = false;  // Default: false (as the service's default).
  std::string out;                 // Required: the JSONL file to write (replaced).
};

// Writes the export; returns what the service reported (records, items left out).
absl::StatusOr<ExportResult> ExportCampaign(const ExportOptions& options, std::ostream& progress);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_EXPORT_CAMPAIGN_H_
