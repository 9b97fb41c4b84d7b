#include "services/coordinator/kv_store.h"

#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/coordinator/worker_registry.h"

namespace rein::coordinator {
namespace {

TEST_CASE("kv: a Get waits for the Set that another thread makes") {
  KvStore store;
  std::thread setter([&] { REQUIRE(store.Set("nccl_id", "bytes").ok()); });
  auto value = store.Get("nccl_id", absl::Seconds(30));
  setter.join();
  REQUIRE(value.ok());
  CHECK(*value == "bytes");
}

TEST_CASE("kv: absent keys are NOT_FOUND at once, DEADLINE_EXCEEDED after waiting") {
  KvStore store;
  CHECK(store.Get("missing", absl::ZeroDuration()).status().code() ==
        absl::StatusCode::kNotFound);
  auto waited = store.Get("missing", absl::Milliseconds(20));
  CHECK(waited.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(std::string(waited.status().message()).find("missing") != std::string::npos);
}

TEST_CASE("kv: Set overwrites, and bad keys and values are refused") {
  KvStore store;
  REQUIRE(store.Set("k", "1").ok());
  REQUIRE(store.Set("k", "2").ok());
  CHECK(*store.Get("k", absl::ZeroDuration()) == "2");
  CHECK(store.Set("", "x").code() == absl::StatusCode::kInvalidArgument);
  CHECK(store.Set("k", std::string(KvStore::kMaxValueBytes + 1, 'x')).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("kv: the store's total size is bounded, overwrites free what they replace") {
  KvStore store;
  const std::string value(KvStore::kMaxValueBytes, 'x');
  const size_t fit = KvStore::kMaxTotalBytes / (value.size() + 8);
  for (size_t i = 0; i < fit; ++i) REQUIRE(store.Set(absl::StrCat("key-", 100 + i), value).ok());
  absl::Status full = store.Set("one-too-many", value);
  CHECK(full.code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(full.message()).find("more than 268435456") != std::string::npos);
  REQUIRE(store.Set("key-100", value).ok());  // an overwrite of the same size still fits
  REQUIRE(store.Set("key-101", "small").ok());
  CHECK(store.Set("one-too-many", value).ok());  // the space key-101 gave back
  // Errors quote a long key's start only.
  const std::string long_key(1000, 'k');
  const std::string message(store.Get(long_key, absl::ZeroDuration()).status().message());
  CHECK(message.size() < 120);
  CHECK(message.find("(1000 bytes)") != std::string::npos);
}

rein::v1::RegisterRequest Request(const std::string& id, rein::v1::Role role, int capacity,
                                  int rank = 0) {
  rein::v1::RegisterRequest request;
  request.set_worker_id(id);
  request.set_role(role);
  request.set_address("127.0.0.1:5000");
  request.set_capacity(static_cast<uint32_t>(capacity));
  request.set_rank(static_cast<uint32_t>(rank));
  return request;
}

TEST_CASE("registry: workers register by role, re-register in place, and can be excluded") {
  WorkerRegistry registry;
  CHECK(*registry.Register(Request("rollout-0", rein::v1::ROLE_ROLLOUT, 8)) == 1);
  CHECK(*registry.Register(Request("rollout-1", rein::v1::ROLE_ROLLOUT, 4)) == 2);
  CHECK(*registry.Register(Request("rollout-1", rein::v1::ROLE_ROLLOUT, 16)) == 2);
  CHECK(*registry.Register(Request("learner-1", rein::v1::ROLE_LEARNER, 1, 1)) == 1);
  CHECK(*registry.Register(Request("learner-0", rein::v1::ROLE_LEARNER, 1, 0)) == 2);
  auto rollouts = registry.Active(rein::v1::ROLE_ROLLOUT);
  REQUIRE(rollouts.size() == 2);
  CHECK(rollouts[1].capacity == 16);
  CHECK(registry.Active(rein::v1::ROLE_LEARNER)[0].rank == 0);
  registry.Exclude("rollout-0");
  CHECK(registry.Active(rein::v1::ROLE_ROLLOUT).size() == 1);
  CHECK(registry.WaitFor(rein::v1::ROLE_ROLLOUT, 1, absl::Seconds(1)).ok());
  auto short_of = registry.WaitFor(rein::v1::ROLE_REWARD, 1, absl::Milliseconds(10));
  CHECK(short_of.code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("registry: malformed registrations name the field") {
  WorkerRegistry registry;
  auto bad_role = registry.Register(Request("x", rein::v1::ROLE_UNSPECIFIED, 1));
  CHECK(std::string(bad_role.status().message()).find("role") != std::string::npos);
  auto bad_capacity = registry.Register(Request("x", rein::v1::ROLE_REWARD, 0));
  CHECK(std::string(bad_capacity.status().message()).find("capacity") != std::string::npos);
  rein::v1::RegisterRequest bad_address = Request("x", rein::v1::ROLE_REWARD, 1);
  bad_address.set_address("nowhere");
  CHECK(std::string(registry.Register(bad_address).status().message()).find("address") !=
        std::string::npos);
}

}  // namespace
}  // namespace rein::coordinator
