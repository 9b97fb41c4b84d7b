#include "common/dist/coordinator_store.h"

#include <ATen/ops/full.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/dist/dist_test_util.h"
#include "common/rpc/server.h"
#include "common/status/grpc_status.h"
#include "rein/v1/coordinator.grpc.pb.h"

namespace rein::dist {
namespace {

// The coordinator's KvSet/KvGet (c10d Store semantics) and nothing else: an in-memory fake.
class FakeKvCoordinator final : public rein::v1::Coordinator::Service {
 public:
  grpc::Status KvSet(grpc::ServerContext*, const rein::v1::KvSetRequest* request,
                     rein::v1::KvSetResponse*) override {
    absl::MutexLock lock(&mu_);
    values_[request->key()] = request->value();
    return grpc::Status::OK;
  }
  grpc::Status KvGet(grpc::ServerContext*, const rein::v1::KvGetRequest* request,
                     rein::v1::KvGetResponse* response) override {
    const absl::Duration wait =
        absl::Seconds(request->wait().seconds()) + absl::Nanoseconds(request->wait().nanos());
    absl::MutexLock lock(&mu_);
    auto present = [&] { return values_.count(request->key()) > 0; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&present), wait)) {
      return ToGrpcStatus(wait == absl::ZeroDuration()
                              ? absl::NotFoundError(request->key())
                              : absl::DeadlineExceededError(request->key()));
    }
    response->set_value(values_[request->key()]);
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> values_ ABSL_GUARDED_BY(mu_);
};

struct Coordinator {
  FakeKvCoordinator service;
  prometheus::Registry registry;
  std::unique_ptr<rpc::Server> server;
  explicit Coordinator(int port = 0) {
    rpc::ServerOptions options;
    options.port = port;
    auto created =
        rpc::Server::Create(options, {rpc::Bind<rein::v1::Coordinator>(&service)}, registry);
    REQUIRE(created.ok());
    server = *std::move(created);
  }
};

CoordinatorStoreOptions StoreOptions(const Coordinator& coordinator, const std::string& group,
                                     absl::Duration timeout) {
  CoordinatorStoreOptions options;
  options.address = coordinator.server->address();
  options.group_id = group;
  options.timeout = timeout;
  return options;
}

TEST_CASE("The coordinator store sets, waits for and gets keys under its group id") {
  Coordinator coordinator;
  auto store = ConnectCoordinatorStore(StoreOptions(coordinator, "g1", absl::Seconds(2)));
  REQUIRE(store.ok());
  (*store)->set("a", std::vector<uint8_t>{1, 2, 3});
  CHECK((*store)->get("a") == std::vector<uint8_t>{1, 2, 3});
  CHECK((*store)->check({"a"}));
  CHECK_FALSE((*store)->check({"b"}));
  try {
    (*store)->wait({"b"}, std::chrono::milliseconds(200));
    FAIL("wait for a missing key returned");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("Timeout waiting for key g1/b") != std::string::npos);
  }
  // Another group id does not see g1's keys.
  auto other = ConnectCoordinatorStore(StoreOptions(coordinator, "g2", absl::Seconds(1)));
  REQUIRE(other.ok());
  CHECK_FALSE((*other)->check({"a"}));
}

TEST_CASE("a rank that starts before the coordinator waits for it instead of failing") {
  int port = 0;
  CoordinatorStoreOptions options;
  {
    Coordinator earlier;  // only to find a free port
    port = earlier.server->port();
    options = StoreOptions(earlier, "g", absl::Seconds(30));
  }
  auto store = ConnectCoordinatorStore(options);
  REQUIRE(store.ok());
  absl::Notification set;
  std::thread rank([&] {
    (*store)->set("joined/0", std::vector<uint8_t>{7});
    set.Notify();
  });
  // Not while there is no coordinator.
  CHECK_FALSE(set.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  Coordinator coordinator(port);
  CHECK(set.WaitForNotificationWithTimeout(absl::Seconds(20)));
  rank.join();
  CHECK((*store)->get("joined/0") == std::vector<uint8_t>{7});
}

TEST_CASE("Two Gloo ranks rendezvous through the coordinator's key-value store") {
  Coordinator coordinator;
  auto store = ConnectCoordinatorStore(StoreOptions(coordinator, "learner-run-1", absl::Seconds(30)));
  REQUIRE(store.ok());
  std::vector<absl::Status> results = testing::RunRanks(
      2,
      [](Communicator& comm, int rank) -> absl::Status {
        at::Tensor t = at::full({16}, static_cast<double>(rank + 1), at::kFloat);
        if (absl::Status s = comm.AllReduce(t, ReduceOp::kSum); !s.ok()) return s;
        return t.equal(at::full({16}, 3.0, at::kFloat)) ? absl::OkStatus()
                                                        : absl::InternalError("wrong sum");
      },
      absl::Seconds(30), *store);
  for (const absl::Status& s : results) {
    INFO(s.ToString());
    CHECK(s.ok());
  }
}

}  // namespace
}  // namespace rein::dist
