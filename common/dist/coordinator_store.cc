#include "common/dist/coordinator_store.h"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/version.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "rein/v1/coordinator.grpc.pb.h"

namespace rein::dist {
namespace {

absl::Duration FromMillis(std::chrono::milliseconds ms) { return absl::Milliseconds(ms.count()); }

class CoordinatorStore final : public c10d::Store {
 public:
  CoordinatorStore(const CoordinatorStoreOptions& options, std::shared_ptr<grpc::Channel> channel)
      : options_(options), channel_(std::move(channel)),
        stub_(rein::v1::Coordinator::NewStub(channel_)) {
    timeout_ = std::chrono::milliseconds(absl::ToInt64Milliseconds(options.timeout));
  }

#if TORCH_VERSION_MAJOR >= 2
  // LibTorch 2's c10d clones a store for each thread that uses it; a clone shares the channel.
  c10::intrusive_ptr<c10d::Store> clone() override {
    return c10::make_intrusive<CoordinatorStore>(options_, channel_);
  }
#endif

  void set(const std::string& key, const std::vector<uint8_t>& value) override {
    rein::v1::KvSetRequest request;
    request.set_key(Key(key));
    request.set_value(std::string(value.begin(), value.end()));
    rein::v1::KvSetResponse response;
    auto context = Context(FromMillis(timeout_));
    Check(stub_->KvSet(context.get(), request, &response), "KvSet", key);
  }

  std::vector<uint8_t> get(const std::string& key) override {
    std::string value = Get(key, FromMillis(timeout_));
    return std::vector<uint8_t>(value.begin(), value.end());
  }

  bool check(const std::vector<std::string>& keys) override {
    for (const std::string& key : keys) {
      rein::v1::KvGetRequest request;
      request.set_key(Key(key));
      rein::v1::KvGetResponse response;
      auto context = Context(absl::Seconds(30));
      grpc::Status status = stub_->KvGet(context.get(), request, &response);
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) return false;
      Check(status, "KvGet", key);
    }
    return true;
  }

  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }

  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override {
    const absl::Time deadline = absl::Now() + FromMillis(timeout);
    for (const std::string& key : keys) {
      Get(key, std::max(absl::ZeroDuration(), deadline - absl::Now()));
    }
  }

  int64_t add(const std::string& key, int64_t) override { Unsupported("add", key); }
  bool deleteKey(const std::string& key) override { Unsupported("deleteKey", key); }
  int64_t getNumKeys() override { Unsupported("getNumKeys", ""); }

 private:
  // Wait-for-ready: a rank started before the coordinator (a cluster launcher starts every
  // process at once) waits for it until the call's deadline instead of failing at once.
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline) const {
    auto context = rpc::NewCallContext(options_.client, deadline);
    context->set_wait_for_ready(true);
    return context;
  }

  std::string Key(const std::string& key) const {
    return absl::StrCat(options_.group_id, "/", key);
  }

  std::string Get(const std::string& key, absl::Duration wait) {
    rein::v1::KvGetRequest request;
    request.set_key(Key(key));
    request.mutable_wait()->set_seconds(absl::ToInt64Seconds(wait));
    request.mutable_wait()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(wait - absl::Seconds(absl::ToInt64Seconds(wait)))));
    rein::v1::KvGetResponse response;
    // The call outlives the wait a little, so that the server's answer (found or
    // DEADLINE_EXCEEDED) arrives before the client gives up.
    auto context = Context(wait + absl::Seconds(10));
    Check(stub_->KvGet(context.get(), request, &response), "KvGet", key);
    return std::move(*response.mutable_value());
  }

  [[noreturn]] void Unsupported(absl::string_view what, const std::string& key) {
    TORCH_CHECK(false, "CoordinatorStore: ", std::string(what), "(", key,
                ") is not supported by the coordinator's key-value store");
  }

  void Check(const grpc::Status& status, absl::string_view method, const std::string& key) {
    if (status.ok()) return;
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      // c10d callers recognise timeouts by this wording.
      TORCH_CHECK(false, "Timeout waiting for key ", Key(key), " in the coordinator store at ",
                  options_.address, ": ", status.error_message());
    }
    TORCH_CHECK(false, "coordinator store at ", options_.address, ": ", std::string(method), "(",
                Key(key), ") failed: ", FromGrpcStatus(status).ToString());
  }

  const CoordinatorStoreOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rein::v1::Coordinator::Stub> stub_;
};

}  // namespace

absl::StatusOr<StorePtr> ConnectCoordinatorStore(const CoordinatorStoreOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("coordinator store: no coordinator address");
  }
  if (options.group_id.empty()) return absl::InvalidArgumentError("coordinator store: no group id");
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                   rpc::CreateChannel(options.address, options.client));
  return StorePtr(c10::make_intrusive<CoordinatorStore>(options, std::move(channel)));
}

}  // namespace rein::dist
