// The coordinator's admin client of rein-feedback, for runs with rounds: each round's campaign is
// created (or found again after a restart), filled with items, watched while people judge it,
// and exported for the reward model. Calls carry the feedback admin token; errors name the
// method and the server.
//
// Thread safety: thread safe (a gRPC stub and immutable options).
#ifndef REIN_SERVICES_COORDINATOR_FEEDBACK_LINK_H_
#define REIN_SERVICES_COORDINATOR_FEEDBACK_LINK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/rpc/options.h"
#include "rein/v1/feedback.grpc.pb.h"

namespace rein::coordinator {

struct CampaignSpec {
  std::string name;
  std::string guidelines_markdown;
  int overlap = 3;
  double gold_rate = 0.0;
  rein::v1::QuestionType question = rein::v1::QUESTION_TYPE_PAIRWISE;
};

class FeedbackLink {
 public:
  // `options` carries the admin token as its auth_token.
  static absl::StatusOr<std::unique_ptr<FeedbackLink>> Connect(const std::string& address,
                                                               const rpc::ClientOptions& options,
                                                               absl::Duration call_timeout);

  // The campaign named spec.name: created with its one question, or the existing one (a run
  // resumed in the middle of a round finds its campaign again).
  absl::StatusOr<rein::v1::Campaign> EnsureCampaign(const CampaignSpec& spec) const;
  // Adds items in batches (idempotent per external id); returns how many were new.
  absl::StatusOr<int> AddItems(const std::string& campaign,
                               const std::vector<rein::v1::Item>& items) const;
  absl::StatusOr<rein::v1::CampaignStatus> Status(const std::string& campaign,
                                                  bool include_synthetic) const;
  // Policy versions rated over several campaigns' judgements together.
  absl::StatusOr<rein::v1::RateVersionsResponse> RateVersions(
      const std::vector<std::string>& campaigns, bool include_synthetic) const;
  // The campaign's judgements in `format` (PAIRS: aggregated pairs; UNPAIRED: approve/flag
  // labels) as JSON lines.
  absl::StatusOr<std::string> Export(const std::string& campaign, rein::v1::ExportFormat format,
                                     bool include_synthetic) const;

  const std::string& address() const { return address_; }

 private:
  FeedbackLink(std::string address, rpc::ClientOptions options, absl::Duration call_timeout,
               std::unique_ptr<rein::v1::Feedback::Stub> stub)
      : address_(std::move(address)),
        options_(std::move(options)),
        call_timeout_(call_timeout),
        stub_(std::move(stub)) {}
  absl::Status Failed(const grpc::Status& status, const char* method) const;

  const std::string address_;
  const rpc::ClientOptions options_;
  const absl::Duration call_timeout_;
  const std::unique_ptr<rein::v1::Feedback::Stub> stub_;
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_FEEDBACK_LINK_H_
