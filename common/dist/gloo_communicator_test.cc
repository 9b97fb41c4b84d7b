#include "common/dist/gloo_communicator.h"

#include <ATen/ops/arange.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ones.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "absl/synchronization/notification.h"
#include "common/dist/dist_test_util.h"
#include "common/status/status_macros.h"

namespace rein::dist {
namespace {

using testing::RunRanks;

bool AllOk(const std::vector<absl::Status>& results) {
  for (const absl::Status& s : results) {
    INFO(s.ToString());
    if (!s.ok()) return false;
  }
  return true;
}

TEST_CASE("Gloo all-reduce sums, averages and takes the max over three ranks") {
  REQUIRE(AllOk(RunRanks(3, [](Communicator& comm, int rank) -> absl::Status {
    at::Tensor sum = at::arange(1000, at::kFloat) * (rank + 1);
    RETURN_IF_ERROR(comm.AllReduce(sum, ReduceOp::kSum));
    if (!sum.equal(at::arange(1000, at::kFloat) * 6)) return absl::InternalError("sum");
    at::Tensor mean = at::full({7}, static_cast<double>(rank), at::kDouble);
    RETURN_IF_ERROR(comm.AllReduce(mean, ReduceOp::kAverage));
    if (!mean.equal(at::full({7}, 1.0, at::kDouble))) return absl::InternalError("mean");
    at::Tensor max = at::full({3}, static_cast<double>(rank), at::kLong);
    RETURN_IF_ERROR(comm.AllReduce(max, ReduceOp::kMax));
    if (max[0].item<int64_t>() != 2) return absl::InternalError("max");
    ASSIGN_OR_RETURN(std::vector<double> sums, SumOverRanks(&comm, {1.0, 0.5 * rank}));
    if (sums[0] != 3.0 || sums[1] != 1.5) return absl::InternalError("SumOverRanks");
    return comm.Barrier();
  })));
}

TEST_CASE("Gloo broadcast copies the root's tensor to every rank") {
  REQUIRE(AllOk(RunRanks(2, [](Communicator& comm, int rank) -> absl::Status {
    at::Tensor t = at::full({5}, static_cast<double>(rank + 10), at::kFloat);
    RETURN_IF_ERROR(comm.Broadcast(t, 1));
    return t.equal(at::full({5}, 11.0, at::kFloat)) ? absl::OkStatus()
                                                   : absl::InternalError("broadcast");
  })));
}

TEST_CASE("Gloo takes bfloat16 and float16 tensors through float32") {
  REQUIRE(AllOk(RunRanks(2, [](Communicator& comm, int rank) -> absl::Status {
    for (at::ScalarType dtype : {at::kBFloat16, at::kHalf}) {
      at::Tensor t = at::full({6}, static_cast<double>(rank + 1), dtype);
      RETURN_IF_ERROR(comm.AllReduce(t, ReduceOp::kSum));
      if (t.scalar_type() != dtype || !t.equal(at::full({6}, 3.0, dtype))) {
        return absl::InternalError("sum");
      }
      RETURN_IF_ERROR(comm.AllReduce(t, ReduceOp::kAverage));
      if (!t.equal(at::full({6}, 3.0, dtype))) return absl::InternalError("mean");
      at::Tensor b = at::full({3}, 0.5 + rank, dtype);
      RETURN_IF_ERROR(comm.Broadcast(b, 0));
      if (!b.equal(at::full({3}, 0.5, dtype))) return absl::InternalError("broadcast");
    }
    return absl::OkStatus();
  })));
}

TEST_CASE("A rank that does not arrive makes the other fail fast, naming it") {
  absl::Notification rank0_done;
  const auto started = std::chrono::steady_clock::now();
  std::vector<absl::Status> results = RunRanks(
      2,
      [&](Communicator& comm, int rank) -> absl::Status {
        if (rank == 1) {  // Joins the group, then never calls the collective.
          rank0_done.WaitForNotification();
          return absl::OkStatus();
        }
        at::Tensor t = at::ones({4}, at::kFloat);
        absl::Status status = comm.AllReduce(t, ReduceOp::kSum);
        absl::Status again = comm.AllReduce(t, ReduceOp::kSum);
        rank0_done.Notify();
        if (again.code() != absl::StatusCode::kFailedPrecondition) {
          return absl::InternalError("a broken communicator accepted another collective");
        }
        return status;
      },
      absl::Seconds(2));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO(results[0].ToString());
  CHECK(results[1].ok());
  CHECK(results[0].code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(results[0].message().find("rank 0 of 2") != std::string::npos);
  CHECK(results[0].message().find("rank(s) 1 did not arrive") != std::string::npos);
  CHECK(seconds < 15);
}

TEST_CASE("Forming a group names the ranks that never joined") {
  StorePtr store = c10::make_intrusive<c10d::HashStore>();
  auto comm = CreateGlooCommunicator(testing::LoopbackOptions(0, 3, absl::Seconds(1)), store);
  REQUIRE_FALSE(comm.ok());
  INFO(comm.status().ToString());
  CHECK(comm.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(comm.status().message().find("rank(s) 1, 2 never joined") != std::string::npos);
}

TEST_CASE("Gloo refuses a bad rank") {
  StorePtr store = c10::make_intrusive<c10d::HashStore>();
  CHECK(CreateGlooCommunicator(testing::LoopbackOptions(2, 2), store).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::dist
