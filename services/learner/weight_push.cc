#include "services/learner/weight_push.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/rpc/client.h"
#include "common/status/status_macros.h"

namespace rein::learner {
namespace {

absl::StatusOr<rein::v1::LoadWeightsResponse> PushOne(
    const std::string& address, const rpc::ClientOptions& client, uint64_t version,
    absl::Span<const tensor::NamedTensor> tensors, const weightsync::PushOptions& options) {
  ASSIGN_OR_RETURN(auto channel, rpc::CreateChannel(address, client));
  auto stub = rein::v1::Rollout::NewStub(channel);
  return weightsync::PushWeights(*stub, client, version, tensors, options);
}

}  // namespace

absl::Duration PushDeadline(uint64_t bytes) {
  constexpr uint64_t kMinBytesPerSecond = uint64_t{64} << 20;
  return absl::Seconds(30) + absl::Seconds(static_cast<double>(bytes) / kMinBytesPerSecond);
}

absl::StatusOr<PushSummary> PushToReplicas(const std::vector<std::string>& addresses,
                                           const rpc::ClientOptions& client, uint64_t version,
                                           absl::Span<const tensor::NamedTensor> tensors,
                                           const weightsync::PushOptions& options) {
  if (addresses.empty()) return absl::InvalidArgumentError("rollout_addresses: none given");
  const auto started = std::chrono::steady_clock::now();
  std::vector<absl::StatusOr<rein::v1::LoadWeightsResponse>> results(
      addresses.size(), absl::UnknownError("not pushed"));
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < addresses.size(); ++i) {
      threads.emplace_back([&, i] {
        results[i] = PushOne(addresses[i], client, version, tensors, options);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  PushSummary summary;
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::vector<std::string> failures;
  absl::StatusCode code = absl::StatusCode::kOk;
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (results[i].ok()) {
      summary.total_bytes += results[i]->total_bytes();
    } else {
      if (code == absl::StatusCode::kOk) code = results[i].status().code();
      failures.push_back(absl::StrCat(addresses[i], ": ", results[i].status().message()));
    }
  }
  if (!failures.empty()) {
    return absl::Status(code, absl::StrCat("pushing policy version ", version, " failed for ",
                                           failures.size(), " of ", addresses.size(),
                                           " replicas: ", absl::StrJoin(failures, "; ")));
  }
  return summary;
}

}  // namespace rein::learner
