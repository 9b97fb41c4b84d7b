#include "services/worker/coordinator_watch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/client.h"

namespace rein::worker {
namespace {

constexpr absl::Duration kPollInterval = absl::Seconds(1);
constexpr absl::Duration kCallDeadline = absl::Seconds(3);

bool Ended(rein::v1::RunState state) {
  return state == rein::v1::RUN_STATE_FINISHED || state == rein::v1::RUN_STATE_FAILED ||
         state == rein::v1::RUN_STATE_STOPPED;
}

}  // namespace

CoordinatorWatch::CoordinatorWatch(const std::string& address, const rpc::ClientOptions& client,
                                   std::string incarnation, absl::Duration lost_after,
                                   std::function<void(const std::string& reason)> on_lost)
    : address_(address),
      client_(client),
      incarnation_(std::move(incarnation)),
      lost_after_(lost_after),
      on_lost_(std::move(on_lost)) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = rpc::CreateChannel(address_, client_);
  if (channel.ok()) stub_ = rein::v1::Coordinator::NewStub(*channel);
  thread_ = std::thread([this] { Watch(); });
}

CoordinatorWatch::~CoordinatorWatch() {
  stop_.Notify();
  thread_.join();
}

void CoordinatorWatch::Watch() {
  if (!stub_) {
    on_lost_(absl::StrCat("cannot reach coordinator ", address_));
    return;
  }
  absl::Time last_answer = absl::Now();
  bool run_ended = false;
  while (!stop_.WaitForNotificationWithTimeout(kPollInterval)) {
    auto context = rpc::NewCallContext(client_, kCallDeadline);
    rein::v1::RunStatus status;
    const grpc::Status called = stub_->Status(context.get(), rein::v1::StatusRequest(), &status);
    if (called.ok()) {
      if (!incarnation_.empty() && !status.coordinator_incarnation().empty() &&
          status.coordinator_incarnation() != incarnation_) {
        on_lost_(absl::StrCat("coordinator ", address_, " was restarted (incarnation ",
                              incarnation_, ", now ", status.coordinator_incarnation(), ")"));
        return;
      }
      last_answer = absl::Now();
      run_ended = Ended(status.state());
      continue;
    }
    if (absl::Now() - last_answer >= lost_after_) {
      on_lost_(run_ended ? ""
                         : absl::StrCat("coordinator ", address_, " has not answered for ",
                                        absl::FormatDuration(lost_after_), ": ",
                                        called.error_message()));
      return;
    }
  }
}

}  // namespace rein::worker
