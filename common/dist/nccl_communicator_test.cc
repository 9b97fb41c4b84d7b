// Runs everywhere NCCL is built. Without a GPU only the refusal paths run; the collective
// itself runs on GPU machines (the test says so when it skips).
#include "common/dist/nccl_communicator.h"

#include <cuda_runtime.h>

#include <catch2/catch.hpp>
#include <vector>

namespace rein::dist {
namespace {

TEST_CASE("a communicator without a usable CUDA device is refused with a clear error") {
  auto id = NewNcclUniqueId();
  REQUIRE(id.ok());
  NcclOptions options;
  options.unique_id = *id;
  options.device = CudaDeviceCount();  // One past the last device: never usable.
  auto communicator = NcclCommunicator::Create(options);
  REQUIRE_FALSE(communicator.ok());
  CHECK(communicator.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(communicator.status().message()).find("CUDA device") != std::string::npos);
}

TEST_CASE("bad ranks and ids are refused before touching NCCL") {
  NcclOptions options;
  options.rank = 2;
  options.world_size = 2;
  CHECK(NcclCommunicator::Create(options).status().code() == absl::StatusCode::kInvalidArgument);
  options.rank = 0;
  options.unique_id = "short";
  CHECK(NcclCommunicator::Create(options).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a one-rank all-reduce on the GPU averages in place") {
  if (CudaDeviceCount() == 0) {
    WARN("skipped: no CUDA device on this machine; runs on GPU machines");
    return;
  }
  NcclOptions options;
  options.unique_id = *NewNcclUniqueId();
  auto communicator = NcclCommunicator::Create(options);
  REQUIRE(communicator.ok());
  std::vector<float> host = {1, 2, 3, 4};
  void* device = nullptr;
  REQUIRE(cudaMalloc(&device, host.size() * sizeof(float)) == cudaSuccess);
  cudaMemcpy(device, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice);
  REQUIRE((*communicator)->AllReduce(device, host.size(), NcclType::kFloat32, true).ok());
  std::vector<float> back(host.size());
  cudaMemcpy(back.data(), device, back.size() * sizeof(float), cudaMemcpyDeviceToHost);
  cudaFree(device);
  CHECK(back == host);  // The mean over one rank is the input.
}

}  // namespace
}  // namespace rein::dist
