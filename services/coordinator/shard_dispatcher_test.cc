#include "services/coordinator/shard_dispatcher.h"

#include <catch2/catch.hpp>
#include <set>

#include "absl/synchronization/notification.h"

namespace rein::coordinator {
namespace {

Worker MakeWorker(const std::string& id, int capacity) {
  return Worker{id, rein::v1::ROLE_ROLLOUT, "127.0.0.1:1", capacity, 0};
}

// Every item index served exactly once.
void CheckExactCover(const RangeResults<std::string>& results, size_t items) {
  std::vector<int> served(items, 0);
  for (const auto& [range, who] : results) {
    for (size_t i = range.begin; i < range.end; ++i) ++served[i];
  }
  for (size_t i = 0; i < items; ++i) {
    INFO("item " << i);
    CHECK(served[i] == 1);
  }
}

TEST_CASE("a batch is split into calls no larger than each replica's capacity") {
  std::vector<Worker> workers = {MakeWorker("a", 3), MakeWorker("b", 5)};
  DispatchStats stats;
  auto results = Dispatch<std::string>(
      20, workers,
      [](const Worker& w, Range r) -> absl::StatusOr<std::string> {
        if (static_cast<int>(r.size()) > w.capacity) return absl::InternalError("too big");
        return w.id;
      },
      &stats);
  REQUIRE(results.ok());
  CheckExactCover(*results, 20);
  CHECK(stats.reissued_ranges == 0);
}

TEST_CASE("ranges of a failed replica are re-issued on a survivor, never lost or doubled") {
  std::vector<Worker> workers = {MakeWorker("good", 4), MakeWorker("dying", 4)};
  DispatchStats stats;
  absl::Notification dying_called;
  auto results = Dispatch<std::string>(
      32, workers,
      [&](const Worker& w, Range) -> absl::StatusOr<std::string> {
        if (w.id == "dying") {
          dying_called.Notify();
          return absl::UnavailableError("connection reset");
        }
        // Hold the first call until the other replica has taken (and failed) a range.
        dying_called.WaitForNotificationWithTimeout(absl::Seconds(30));
        return w.id;
      },
      &stats);
  REQUIRE(results.ok());
  CheckExactCover(*results, 32);
  for (const auto& [range, who] : *results) CHECK(who == "good");
  CHECK(stats.reissued_ranges >= 1);
  CHECK(stats.failed_workers == std::vector<std::string>{"dying"});
}

TEST_CASE("a re-issued range larger than the survivor's capacity is split") {
  std::vector<Worker> workers = {MakeWorker("small", 2), MakeWorker("big-dying", 8)};
  DispatchStats stats;
  absl::Notification big_failed;
  auto results = Dispatch<std::string>(
      10, workers,
      [&](const Worker& w, Range r) -> absl::StatusOr<std::string> {
        if (w.id == "big-dying") {
          big_failed.Notify();
          return absl::DeadlineExceededError("slow");
        }
        big_failed.WaitForNotificationWithTimeout(absl::Seconds(30));
        if (r.size() > 2) return absl::InternalError("over capacity");
        return w.id;
      },
      &stats);
  REQUIRE(results.ok());
  CheckExactCover(*results, 10);
  CHECK(stats.reissued_ranges == 1);
}

TEST_CASE("a non-replica error ends the batch with that error") {
  std::vector<Worker> workers = {MakeWorker("a", 2), MakeWorker("b", 2)};
  DispatchStats stats;
  auto results = Dispatch<std::string>(
      10, workers,
      [](const Worker&, Range r) -> absl::StatusOr<std::string> {
        if (r.begin == 4) return absl::InvalidArgumentError("token id out of range");
        return std::string("ok");
      },
      &stats);
  REQUIRE_FALSE(results.ok());
  CHECK(results.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("when every replica fails the batch fails as UNAVAILABLE") {
  std::vector<Worker> workers = {MakeWorker("a", 2), MakeWorker("b", 2)};
  DispatchStats stats;
  auto results = Dispatch<std::string>(
      10, workers,
      [](const Worker&, Range) -> absl::StatusOr<std::string> {
        return absl::UnavailableError("down");
      },
      &stats);
  CHECK(results.status().code() == absl::StatusCode::kUnavailable);
  CHECK(stats.failed_workers.size() == 2);
}

TEST_CASE("an empty batch makes no calls") {
  DispatchStats stats;
  auto results = Dispatch<std::string>(
      0, {MakeWorker("a", 2)},
      [](const Worker&, Range) -> absl::StatusOr<std::string> { return std::string("x"); },
      &stats);
  REQUIRE(results.ok());
  CHECK(results->empty());
  CHECK(stats.calls == 0);
}

}  // namespace
}  // namespace rein::coordinator
