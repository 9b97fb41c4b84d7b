#include "common/dist/gradient_sync.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/full.h>
#include <ATen/ops/full_like.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/dist/dist_test_util.h"
#include "common/status/status_macros.h"

namespace rein::dist {
namespace {

// Parameters of assorted sizes (about 1.1 KiB in float32 in all); the first is left out of the
// loss (it sits in the last bucket, so it does not hold the others back).
std::vector<at::Tensor> MakeParams() {
  std::vector<at::Tensor> params;
  for (int64_t n : {3, 100, 7, 50, 120}) params.push_back(at::zeros({n}).requires_grad_(true));
  return params;
}

// Backward of Σ_k scale·k·Σ p_k over every parameter but the first: grad p_k = scale·k.
void Backward(const std::vector<at::Tensor>& params, double scale) {
  at::Tensor loss = at::zeros({});
  for (size_t k = 1; k < params.size(); ++k) {
    loss = loss + params[k].sum() * (scale * static_cast<double>(k));
  }
  loss.backward();
}

absl::Status ExpectGradients(const std::vector<at::Tensor>& params, double scale) {
  for (size_t k = 0; k < params.size(); ++k) {
    const double want = scale * static_cast<double>(k);
    if (!params[k].grad().defined() ||
        !at::allclose(params[k].grad(), at::full_like(params[k], want))) {
      return absl::InternalError(absl::StrCat("parameter ", k, ": wrong averaged gradient"));
    }
  }
  return absl::OkStatus();
}

TEST_CASE("Bucketed all-reduce averages gradients, overlapped with backward") {
  for (bool overlap : {true, false}) {
    std::vector<absl::Status> results = testing::RunRanks(2, [&](Communicator& comm, int rank) {
      std::vector<at::Tensor> params = MakeParams();
      // 256-byte buckets: several of them.
      ASSIGN_OR_RETURN(auto sync, GradientSync::Create(comm, params,
                                                       {.bucket_bytes = 256, .overlap = overlap}));
      if (sync->bucket_count() < 3) return absl::InternalError("expected several buckets");
      // Two micro-batches; only the last backward is armed. Rank r's gradients are (r+1)·(1+2).
      Backward(params, rank + 1.0);
      sync->ArmForLastBackward();
      Backward(params, 2.0 * (rank + 1.0));
      RETURN_IF_ERROR(sync->Finish());
      // Mean over ranks of 3(r+1): 4.5.
      RETURN_IF_ERROR(ExpectGradients(params, 4.5));
      if (overlap && sync->last_overlapped() == 0) {
        return absl::InternalError("no bucket started during backward");
      }
      if (!overlap && sync->last_overlapped() != 0) return absl::InternalError("overlapped");
      // A second round, after-backward only.
      for (at::Tensor& p : params) p.mutable_grad().zero_();
      Backward(params, rank == 0 ? 1.0 : 3.0);
      RETURN_IF_ERROR(sync->Finish());
      return ExpectGradients(params, 2.0);
    });
    for (const absl::Status& s : results) {
      INFO("overlap " << overlap << ": " << s.ToString());
      CHECK(s.ok());
    }
  }
}

TEST_CASE("GradientSync refuses parameters that do not require grad") {
  std::vector<absl::Status> results = testing::RunRanks(1, [](Communicator& comm, int) {
    return GradientSync::Create(comm, {at::ones({2})}, {}).status();
  });
  CHECK(results[0].code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein::dist
