#include "common/rpc/request_limits.h"

#include <catch2/catch.hpp>
#include <string>

namespace rein::rpc {
namespace {

TEST_CASE("request limits: ids, names, addresses, paths and keys within their limits pass") {
  CHECK(CheckId("worker_id", "rollout-gpu-node-017.cluster.local-3").ok());
  CHECK(CheckId("external_id", "", /*allow_empty=*/true).ok());
  CHECK(CheckName("name", "Helpfulness, round 2 (ünïcode ✓)").ok());
  CHECK(CheckAddress("address", "127.0.0.1:5000").ok());
  CHECK(CheckAddress("address", "ipv6:[::1]:5000").ok());
  CHECK(CheckPath("model_dir", "/runs/a b/policy-v3").ok());
  CHECK(CheckKey("key", "rein/joined/3").ok());
  CHECK(CheckId("worker_id", std::string(kMaxIdBytes, 'a')).ok());
}

TEST_CASE("request limits: an overlong value names the field and limit and quotes a prefix") {
  const std::string huge(1 << 20, 'x');
  absl::Status status = CheckId("worker_id", huge);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  CHECK(message.find("worker_id") != std::string::npos);
  CHECK(message.find("limit of 128 bytes") != std::string::npos);
  CHECK(message.find("(1048576 bytes)") != std::string::npos);
  CHECK(message.size() < 200);
  CHECK(CheckPath("directory", std::string(kMaxPathBytes + 1, 'p')).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("request limits: characters outside a kind's set are refused, escaped in the error") {
  absl::Status status = CheckId("worker_id", std::string("rollout\n0\x1b[2J", 11));
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  CHECK(message.find("byte 7") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find('\x1b') == std::string::npos);
  CHECK(!CheckId("worker_id", "two words").ok());
  CHECK(!CheckName("name", "tab\there").ok());
  CHECK(!CheckName("name", "del\x7f").ok());
  CHECK(!CheckName("name", "c1 \xc2\x85 control").ok());
  CHECK(!CheckName("name", "truncated \xe2\x9c").ok());
  CHECK(!CheckName("name", "overlong \xe0\x80\xaf").ok());
  CHECK(!CheckName("name", "surrogate \xed\xa0\x80").ok());
  CHECK(!CheckPath("model_dir", std::string("/a\0b", 4)).ok());
  CHECK(!CheckAddress("address", "host:5000; rm -rf /").ok());
  CHECK(!CheckKey("key", "a key").ok());
  CHECK(CheckName("name", "").code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("request limits: a quoted prefix is short and escaped") {
  CHECK(QuotePrefix("abc") == "'abc'");
  const std::string quoted = QuotePrefix(std::string(100, '\0'));
  CHECK(quoted.find("(100 bytes)") != std::string::npos);
  CHECK(quoted.size() < 4 * kQuotedPrefixBytes + 20);
}

TEST_CASE("request limits: counts above their limit are RESOURCE_EXHAUSTED naming the field") {
  CHECK(CheckCount("rollout_addresses", kMaxPushTargets, kMaxPushTargets).ok());
  absl::Status status = CheckCount("rollout_addresses", kMaxPushTargets + 1, kMaxPushTargets);
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(status.message()).find("rollout_addresses") != std::string::npos);
  CHECK(std::string(status.message()).find("1024") != std::string::npos);
}

}  // namespace
}  // namespace rein::rpc
