// rein-demo's admin client of rein-feedback (rein.v1.Feedback over gRPC, admin token): the few
// calls `crowd` and `export` make, each turned into absl::Status once, here. rein-demo does not
// depend on reinctl; this is the same wire contract (proto/rein/v1/feedback.proto).
//
// Thread safety: every method may be called from any thread (gRPC channels are thread safe).
#ifndef REIN_TOOLS_DEMO_FEEDBACK_ADMIN_H_
#define REIN_TOOLS_DEMO_FEEDBACK_ADMIN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/rpc/options.h"
#include "rein/v1/feedback.grpc.pb.h"

namespace rein::demo {

// The admin token from a file (first line, surrounding whitespace removed); INVALID_ARGUMENT
// naming the file when it is missing or empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// What an export wrote.
struct ExportResult {
  std::string jsonl;  // complete JSON lines
  int records = 0;
  int items_left_out = 0;
};

class FeedbackAdmin {
 public:
  // A channel to `address` ("host:port") that sends `admin_token` on every call. No call is
  // made here: the first RPC reports an unreachable server.
  static absl::StatusOr<std::unique_ptr<FeedbackAdmin>> Connect(const std::string& address,
                                                                const std::string& admin_token);

  FeedbackAdmin(const FeedbackAdmin&) = delete;
  FeedbackAdmin& operator=(const FeedbackAdmin&) = delete;

  absl::StatusOr<rein::v1::Campaign> CreateCampaign(const rein::v1::CreateCampaignRequest& r);
  // Adds `items` in calls of at most kItemsPerCall items; returns the ids in order.
  absl::StatusOr<std::vector<std::string>> AddItems(const std::string& campaign,
                                                    const std::vector<rein::v1::Item>& items);
  absl::StatusOr<rein::v1::CreateAnnotatorResponse> CreateAnnotator(const std::string& name,
                                                                    bool synthetic);
  absl::StatusOr<rein::v1::CampaignStatus> GetCampaignStatus(const std::string& campaign);
  absl::StatusOr<ExportResult> Export(const rein::v1::ExportRequest& request);

  static constexpr int kItemsPerCall = 500;  // keeps each message far below the size limits

 private:
  FeedbackAdmin(rpc::ClientOptions options, std::unique_ptr<rein::v1::Feedback::Stub> stub,
                std::string address)
      : options_(std::move(options)), stub_(std::move(stub)), address_(std::move(address)) {}
  // The failing method and the server's address prefixed to a failed call's message.
  absl::Status Check(const grpc::Status& status, const char* method) const;

  const rpc::ClientOptions options_;
  const std::unique_ptr<rein::v1::Feedback::Stub> stub_;
  const std::string address_;
};

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_FEEDBACK_ADMIN_H_
