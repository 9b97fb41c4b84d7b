// The CUDA paths, run for real where there is a GPU: the tiny models score and generate on it
// as transformers does (the golden outputs), a PPO Train on it moves the policy as the same
// Train on the CPU does, and NCCL collectives work on LibTorch's CUDA tensors through the
// Communicator interface the learner uses. Everywhere else (Debian's CPU-only LibTorch, CI)
// each test says why it skips; scripts/gpu_check.sh builds and runs them on a GPU machine.
#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/full.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <vector>

#include "common/dist/communicator.h"
#include "common/model/causal_lm.h"
#include "common/model/generator.h"
#include "common/model/testing/golden.h"
#include "services/learner/learner.h"
#include "services/learner/learner_test_util.h"
#ifdef REIN_HAVE_NCCL
#include "common/dist/nccl_collectives.h"
#endif

namespace rein {
namespace {

const c10::Device kGpu(c10::kCUDA, 0);

// Where LibTorch cannot use GPU 0, the reason (the test skips with it).
std::string NoGpu() {
  const absl::Status usable = model::CheckDeviceUsable(kGpu);
  return usable.ok() ? "" : std::string(usable.message());
}

#define SKIP_WITHOUT_GPU()                             \
  if (const std::string why = NoGpu(); !why.empty()) { \
    WARN("skipped (runs on GPU machines): " << why);   \
    return;                                            \
  }

// float32 on the GPU against transformers' float32 on the CPU: cuBLAS sums in another order
// (TF32 is off by default for LibTorch matmuls).
constexpr double kGpuLogitTolerance = 1e-4;

// A tiny checkpoint's golden outputs, and its model in float32 on GPU 0.
struct OnGpu {
  model::testing::Golden golden;
  std::unique_ptr<model::CausalLM> lm;
};

OnGpu LoadOnGpu(const std::string& name) {
  auto golden = model::testing::LoadGolden(name);
  REQUIRE(golden.ok());
  auto lm = model::CausalLM::Load(golden->dir, {.device = kGpu, .dtype = at::kFloat});
  INFO(lm.status().ToString());
  REQUIRE(lm.ok());
  CHECK((*lm)->device().is_cuda());
  return {*std::move(golden), *std::move(lm)};
}

TEST_CASE("the tiny models score on the GPU as transformers does") {
  SKIP_WITHOUT_GPU();
  const std::string name = GENERATE(from_range(model::testing::GoldenModelNames()));
  INFO(name);
  const auto [golden, lm] = LoadOnGpu(name);
  auto logits =
      lm->Logits({.input_ids = golden.input_ids.to(kGpu), .attention_mask = golden.attention_mask});
  REQUIRE(logits.ok());
  CHECK(logits->is_cuda());
  const at::Tensor host = logits->cpu();
  for (size_t b = 0; b < golden.lengths.size(); ++b) {
    const double diff = model::testing::MaxAbsDiff(
        host[static_cast<int64_t>(b)].narrow(0, 0, golden.lengths[b]), golden.logits[b]);
    INFO("row " << b << ": max |logit diff| " << diff);
    CHECK(diff < kGpuLogitTolerance);
  }
}

TEST_CASE("greedy generation on the GPU with its KV cache gives transformers' tokens") {
  SKIP_WITHOUT_GPU();
  const std::string name = GENERATE(from_range(model::testing::GoldenModelNames()));
  INFO(name);
  const auto [golden, lm] = LoadOnGpu(name);
  auto generator = model::Generator::Create(*lm);
  REQUIRE(generator.ok());
  std::vector<model::GenerationRequest> requests;
  for (const auto& prompt : golden.prompts) requests.push_back({prompt, 0});
  model::GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = static_cast<int64_t>(golden.greedy.front().size());
  options.stop_at_eos = false;
  auto results = (*generator)->Generate(requests, options);
  INFO(results.status().ToString());
  REQUIRE(results.ok());
  for (size_t b = 0; b < requests.size(); ++b) {
    INFO("prompt " << b);
    CHECK((*results)[b].output_ids == golden.greedy[b]);
  }
}

// Train on `device`; returns the policy's parameters after one PPO iteration on the CPU-made toy
// batch, and the Train's policy loss.
std::vector<at::Tensor> TrainOnce(config::Device device, const v1::TrainRequest& request,
                                  double& loss) {
  learner::LearnerOptions options = learner::testing::TinyOptions(config::LearnerMode::kPpo);
  options.model.device = device;
  auto state = learner::LearnerState::Create(options);
  INFO(state.status().ToString());
  REQUIRE(state.ok());
  prometheus::Registry registry;
  auto learner = learner::Learner::Create(*std::move(state), registry);
  REQUIRE(learner.ok());
  auto reply = (*learner)->Train(request);
  INFO(reply.status().ToString());
  REQUIRE(reply.ok());
  CHECK(reply->policy_version() == 1);
  loss = reply->stats().values().at("loss/policy");
  std::vector<at::Tensor> weights;
  (*learner)->InspectState([&](learner::LearnerState& s) {
    CHECK(s.policy().device().type() == (device == config::Device::kCuda ? c10::kCUDA : c10::kCPU));
    for (const at::Tensor& p : learner::testing::Snapshot(s.policy())) weights.push_back(p.cpu());
  });
  return weights;
}

TEST_CASE("a PPO Train on the GPU moves the policy as the same Train on the CPU") {
  SKIP_WITHOUT_GPU();
  v1::TrainRequest request;
  {
    auto cpu =
        learner::LearnerState::Create(learner::testing::TinyOptions(config::LearnerMode::kPpo));
    REQUIRE(cpu.ok());
    request = learner::testing::ToyExperienceRequest((*cpu)->policy(), 1);
  }
  double cpu_loss = 0, gpu_loss = 0;
  const std::vector<at::Tensor> on_cpu = TrainOnce(config::Device::kCpu, request, cpu_loss);
  const std::vector<at::Tensor> on_gpu = TrainOnce(config::Device::kCuda, request, gpu_loss);
  CHECK(gpu_loss == Approx(cpu_loss).margin(1e-4));
  REQUIRE(on_cpu.size() == on_gpu.size());
  double largest_step = 0, largest_gap = 0;
  auto start =
      learner::LearnerState::Create(learner::testing::TinyOptions(config::LearnerMode::kPpo));
  REQUIRE(start.ok());
  const std::vector<at::Tensor> before = learner::testing::Snapshot((*start)->policy());
  for (size_t i = 0; i < on_cpu.size(); ++i) {
    largest_step = std::max(largest_step, model::testing::MaxAbsDiff(on_cpu[i], before[i]));
    largest_gap = std::max(largest_gap, model::testing::MaxAbsDiff(on_cpu[i], on_gpu[i]));
  }
  INFO("largest CPU step " << largest_step << ", largest CPU/GPU gap " << largest_gap);
  CHECK(largest_step > 1e-4);                // the Train moved the policy...
  CHECK(largest_gap < largest_step * 1e-2);  // ...and the GPU moved it the same way
}

#ifdef REIN_HAVE_NCCL
TEST_CASE("NCCL all-reduce and broadcast work on LibTorch CUDA tensors (one rank)") {
  SKIP_WITHOUT_GPU();
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::HashStore>();
  dist::NcclGroupOptions options;
  auto comm = dist::CreateNcclCommunicator(options, store);
  INFO(comm.status().ToString());
  REQUIRE(comm.ok());
  CHECK((*comm)->backend() == "nccl");
  // Written by a kernel queued just before: the collective must wait for it.
  const int64_t n = int64_t{64} << 20;
  at::Tensor values = at::arange(n, at::TensorOptions().dtype(at::kFloat).device(kGpu)).mul_(2);
  auto pending = (*comm)->AllReduceAsync(values, dist::ReduceOp::kAverage);
  REQUIRE(pending.ok());
  REQUIRE((*pending)->Wait().ok());
  const at::Tensor expected = at::arange(n, at::kFloat).mul_(2);
  CHECK(model::testing::MaxAbsDiff(values.cpu(), expected) == 0);
  at::Tensor ones = at::full({1024}, 3.0, at::TensorOptions().dtype(at::kFloat).device(kGpu));
  REQUIRE((*comm)->Broadcast(ones, 0).ok());
  CHECK(ones.sum().item<double>() == 3.0 * 1024);
  // A CPU tensor is refused, not handed to NCCL.
  CHECK((*comm)->AllReduceAsync(expected, dist::ReduceOp::kSum).status().code() ==
        absl::StatusCode::kInvalidArgument);
}
#endif

}  // namespace
}  // namespace rein
