// Data-parallel learner ranks (threads of this process, Gloo over loopback): R = 2 ranks with
// half of each batch take the same steps as one rank with the whole batch, and end with
// identical parameters. With learner.zero_stage 1 (optimizer state sharded) they take bitwise
// the steps they take without, holding half the optimizer state each, and their checkpoints
// resume either way.
#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/registry.h>

#include "common/checkpoint/safetensors.h"
#include "common/dist/gloo_communicator.h"
#include "common/status/status_macros.h"
#include "common/testing/subprocess.h"
#include "services/learner/checkpoint_io.h"
#include "services/learner/learner.h"
#include "services/learner/learner_test_util.h"

namespace rein::learner {
namespace {

using testing::TinyOptions;

constexpr int kIterations = 3;
constexpr int kRows = 8;

// Eight sequences of different lengths and very different rewards in the two halves, so that
// per-rank statistics (whitening, normalisation, token counts) would differ from the batch's.
rein::v1::TrainRequest MakeRequest(config::LearnerMode mode, const model::CausalLM& policy,
                                   int begin, int end, uint64_t iteration) {
  rein::v1::TrainRequest request;
  request.set_iteration(iteration);
  for (int i = begin; i < end; ++i) {
    const std::vector<int32_t> prompt = {5 + i % 3, 6, 7 + i};
    std::vector<int32_t> response;
    for (int t = 0; t < 2 + i % 3; ++t) response.push_back(10 + 3 * i + t);
    if (mode == config::LearnerMode::kSft) {
      *request.mutable_sft()->add_examples()->mutable_sequence() =
          testing::Sequence(static_cast<uint64_t>(i), prompt, response);
    } else if (config::IsOfflinePreference(mode)) {
      // dpo: the response over a shifted one; kto: alternately desirable, its mismatched pair
      // the next row's response under this prompt. The reference is the policy as it is now.
      std::vector<int32_t> other = response;
      for (int32_t& t : other) t += 100;
      rein::v1::OfflinePreference* e = request.mutable_offline_preferences()->add_examples();
      *e->add_responses() = testing::Sequence(static_cast<uint64_t>(i), prompt, response);
      // Offsets away from 0 (and of both signs), so that no implicit reward sits on a tie
      // that float rounding could flip between rank counts.
      const double offset = (i % 3 == 0 ? 0.1 : -0.1) * (i + 1);
      e->add_reference_logprobs(testing::ResponseLogProb(policy, prompt, response) + offset);
      if (mode == config::LearnerMode::kKto) {
        e->set_desirable(i % 2 == 0);
        *e->mutable_kl_response() = testing::Sequence(100 + i, prompt, other);
        e->set_kl_reference_logprob(testing::ResponseLogProb(policy, prompt, other) - 0.3);
      } else {
        *e->add_responses() = testing::Sequence(100 + i, prompt, other);
        e->add_reference_logprobs(testing::ResponseLogProb(policy, prompt, other));
      }
    } else {
      const float reward = i < kRows / 2 ? 2.0f + static_cast<float>(i) : -0.5f * i;
      *request.mutable_experiences()->add_experiences() = testing::MakeExperience(
          policy, static_cast<uint64_t>(i), prompt, response, reward,
          /*group_id=*/static_cast<uint64_t>(i / 2));
    }
  }
  return request;
}

LearnerOptions Options(config::LearnerMode mode) {
  LearnerOptions o = TinyOptions(mode);
  o.ppo.minibatches = 1;  // one minibatch = the whole batch on every rank count
  o.ppo.epochs = 2;
  o.ppo.normalize_rewards = mode == config::LearnerMode::kPpo;
  o.learner.gradient_accumulation = 4;  // sft: one optimizer step per batch
  if (config::IsOfflinePreference(mode)) o.learner.micro_batch_size = 4;  // dpo, kto: likewise
  o.learner.bucket_mb = 1;
  return o;
}

struct RankResult {
  absl::Status status;
  std::vector<at::Tensor> params;
  std::vector<at::Tensor> critic_params;  // ppo only
  std::map<std::string, double> stats;
  int64_t optimizer_state_bytes = 0;
  double optimizer_state_bytes_gauge = -1;  // rein_learner_optimizer_state_bytes
};

// What a Train run does besides training iterations [first, last].
struct RunSpec {
  int zero_stage = 0;
  int first = 1;
  int last = kIterations;
  std::string resume_from;  // start from this checkpoint (else from the tiny model)
  std::string save_to;      // write a checkpoint here at the end
};

RunSpec Spec(int zero_stage, int first = 1, int last = kIterations, std::string resume_from = "",
             std::string save_to = "") {
  return RunSpec{zero_stage, first, last, std::move(resume_from), std::move(save_to)};
}

// Trains `world` ranks, rank r on rows [r·8/world, (r+1)·8/world) of every iteration.
std::vector<RankResult> Train(config::LearnerMode mode, int world, const RunSpec& spec = Spec(0)) {
  std::vector<RankResult> results(world);
  dist::StorePtr store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      RankResult& out = results[r];
      out.status = [&]() -> absl::Status {
        LearnerOptions options = Options(mode);
        options.learner.ranks = world;
        options.learner.zero_stage = spec.zero_stage;
        std::unique_ptr<LearnerState> state;
        if (spec.resume_from.empty()) {
          ASSIGN_OR_RETURN(state, LearnerState::Create(options));
        } else {
          ASSIGN_OR_RETURN(state, LoadLearnerCheckpoint(spec.resume_from, options));
        }
        if (world > 1) {
          dist::GlooOptions gloo;
          gloo.rank = r;
          gloo.world_size = world;
          gloo.timeout = absl::Seconds(60);
          gloo.hostname = "127.0.0.1";
          ASSIGN_OR_RETURN(std::unique_ptr<dist::Communicator> comm,
                           dist::CreateGlooCommunicator(gloo, store));
          RETURN_IF_ERROR(state->JoinGroup(std::move(comm)));
        }
        prometheus::Registry registry;
        ASSIGN_OR_RETURN(std::unique_ptr<Learner> learner,
                         Learner::Create(std::move(state), registry));
        for (int it = spec.first; it <= spec.last; ++it) {
          rein::v1::TrainRequest request;
          learner->InspectState([&](LearnerState& s) {
            request = MakeRequest(mode, s.policy(), r * kRows / world, (r + 1) * kRows / world,
                                  static_cast<uint64_t>(it));
          });
          ASSIGN_OR_RETURN(rein::v1::TrainResponse reply, learner->Train(request));
          out.stats.clear();
          for (const auto& [name, value] : reply.stats().values()) out.stats[name] = value;
        }
        // Sharded, saving is a collective of every rank; unsharded, rank 0 alone saves (as the
        // coordinator asks).
        if (!spec.save_to.empty() && (spec.zero_stage == 1 || r == 0)) {
          RETURN_IF_ERROR(learner->SaveCheckpoint(spec.save_to).status());
        }
        learner->InspectState([&](LearnerState& s) {
          out.params = testing::Snapshot(s.policy());
          if (s.critic() != nullptr) out.critic_params = testing::Snapshot(*s.critic());
          out.optimizer_state_bytes = s.OptimizerStateBytes();
        });
        for (const prometheus::MetricFamily& family : registry.Collect()) {
          if (family.name == "rein_learner_optimizer_state_bytes") {
            out.optimizer_state_bytes_gauge = family.metric.at(0).gauge.value;
          }
        }
        return absl::OkStatus();
      }();
    });
  }
  for (std::thread& t : threads) t.join();
  return results;
}

void RequireOk(const std::vector<RankResult>& results) {
  for (const RankResult& r : results) {
    INFO(r.status.ToString());
    REQUIRE(r.status.ok());
  }
}

void CheckEquivalent(config::LearnerMode mode) {
  std::vector<RankResult> one = Train(mode, 1);
  std::vector<RankResult> two = Train(mode, 2);
  RequireOk(one);
  RequireOk(two);
  // Same parameters on every rank (bitwise: the checksum of all of them agrees).
  CHECK(testing::Identical(two[0].params, two[1].params));
  // Two half-batch ranks = one whole-batch rank, up to float32 rounding (which AdamW amplifies
  // on near-zero gradients: ~2e-6 after 6 steps of lr 1e-3, each moving a weight up to 1e-3).
  REQUIRE(one[0].params.size() == two[0].params.size());
  for (size_t k = 0; k < one[0].params.size(); ++k) {
    INFO("parameter " << k << ": max |difference| "
                       << (one[0].params[k] - two[0].params[k]).abs().max().item<double>()
                       << ", max |value| " << one[0].params[k].abs().max().item<double>());
    CHECK(at::allclose(one[0].params[k], two[0].params[k], /*rtol=*/1e-4, /*atol=*/1e-5));
  }
  // The reported statistics are the whole batch's, the same on every rank.
  for (const auto& [name, value] : one[0].stats) {
    if (name.rfind("time/", 0) == 0 || name.rfind("throughput/", 0) == 0) continue;
    INFO(name << ": one rank " << value << ", two ranks " << two[0].stats[name]);
    CHECK(two[0].stats[name] == Approx(value).epsilon(1e-4).margin(1e-6));
    CHECK(two[1].stats[name] == two[0].stats[name]);
  }
}

TEST_CASE("dp ppo: two ranks with half the batch each equal one rank with all of it") {
  CheckEquivalent(config::LearnerMode::kPpo);
}

TEST_CASE("dp grpo and reinforce++: two ranks equal one") {
  CheckEquivalent(config::LearnerMode::kGrpo);
  CheckEquivalent(config::LearnerMode::kReinforcePlusPlus);
}

TEST_CASE("dp sft: two ranks equal one") { CheckEquivalent(config::LearnerMode::kSft); }

TEST_CASE("dp dpo and kto: two ranks equal one (kto's z0 over both ranks' pairs)") {
  CheckEquivalent(config::LearnerMode::kDpo);
  CheckEquivalent(config::LearnerMode::kKto);
}

TEST_CASE("dp: ranks refuse together when one rank's slice is bad") {
  std::vector<absl::Status> statuses(2);
  dist::StorePtr store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      statuses[r] = [&]() -> absl::Status {
        LearnerOptions options = Options(config::LearnerMode::kSft);
        options.learner.ranks = 2;
        ASSIGN_OR_RETURN(std::unique_ptr<LearnerState> state, LearnerState::Create(options));
        dist::GlooOptions gloo;
        gloo.rank = r;
        gloo.world_size = 2;
        gloo.hostname = "127.0.0.1";
        ASSIGN_OR_RETURN(auto comm, dist::CreateGlooCommunicator(gloo, store));
        RETURN_IF_ERROR(state->JoinGroup(std::move(comm)));
        prometheus::Registry registry;
        ASSIGN_OR_RETURN(auto learner, Learner::Create(std::move(state), registry));
        rein::v1::TrainRequest request;
        learner->InspectState([&](LearnerState& s) {
          request = MakeRequest(config::LearnerMode::kSft, s.policy(), 0, 4, 1);
        });
        // Rank 1's slice holds a token outside the vocabulary.
        if (r == 1) {
          request.mutable_sft()->mutable_examples(0)->mutable_sequence()->set_response_ids(0,
                                                                                           5000);
        }
        return learner->Train(request).status();
      }();
    });
  }
  for (std::thread& t : threads) t.join();
  INFO(statuses[0].ToString() << " / " << statuses[1].ToString());
  CHECK(statuses[1].code() == absl::StatusCode::kInvalidArgument);
  CHECK(statuses[0].code() == absl::StatusCode::kFailedPrecondition);
  CHECK(statuses[0].message().find("another learner rank refused") != std::string::npos);
}

// Sharded and unsharded ranks end bitwise alike, each sharded rank holding about half of the
// optimizer state (the two halves adding up to the whole).
void CheckShardedEqualsUnsharded(config::LearnerMode mode) {
  std::vector<RankResult> plain = Train(mode, 2, Spec(0));
  std::vector<RankResult> sharded = Train(mode, 2, Spec(1));
  RequireOk(plain);
  RequireOk(sharded);
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    CHECK(testing::Identical(plain[r].params, sharded[r].params));
    CHECK(testing::Identical(plain[r].critic_params, sharded[r].critic_params));
    for (const auto& [name, value] : plain[r].stats) {
      if (name.rfind("time/", 0) == 0 || name.rfind("throughput/", 0) == 0) continue;
      INFO(name);
      CHECK(sharded[r].stats[name] == value);
    }
  }
  const int64_t whole = plain[0].optimizer_state_bytes;
  INFO(config::EnumName(mode) << ": optimizer state bytes unsharded " << whole << " per rank, "
                              << "sharded " << sharded[0].optimizer_state_bytes << " and "
                              << sharded[1].optimizer_state_bytes);
  CHECK(whole > 0);
  CHECK(plain[1].optimizer_state_bytes == whole);
  CHECK(sharded[0].optimizer_state_bytes + sharded[1].optimizer_state_bytes == whole);
  for (const RankResult& r : sharded) {
    CHECK(r.optimizer_state_bytes > 0.4 * static_cast<double>(whole));
    CHECK(r.optimizer_state_bytes < 0.6 * static_cast<double>(whole));
  }
  for (const std::vector<RankResult>* run : {&plain, &sharded}) {
    for (const RankResult& r : *run) {
      CHECK(r.optimizer_state_bytes_gauge == static_cast<double>(r.optimizer_state_bytes));
    }
  }
}

TEST_CASE("dp zero-1: parameters are partitioned by element count largest first") {
  std::vector<at::Tensor> params;
  for (int64_t rows : {10, 7, 5, 3, 3, 1}) params.push_back(at::zeros({rows, 2}));
  // Elements 20, 14, 10, 6, 6, 2, each to the lightest rank (ties to the lower): loads 20|0,
  // 20|14, 20|24, 26|24, 26|30, 28|30.
  CHECK(PartitionByElements(params, 2) == std::vector<int>{0, 1, 1, 0, 1, 0});
  CHECK(PartitionByElements(params, 3) == std::vector<int>{0, 1, 2, 2, 1, 2});
  // More ranks than parameters: some own none.
  CHECK(PartitionByElements({at::zeros({4})}, 3) == std::vector<int>{0});
}

TEST_CASE("dp zero-1: sharded ppo ranks (policy and critic) equal unsharded ones bitwise") {
  CheckShardedEqualsUnsharded(config::LearnerMode::kPpo);
}

TEST_CASE("dp zero-1: sharded sft ranks equal unsharded ones bitwise") {
  CheckShardedEqualsUnsharded(config::LearnerMode::kSft);
}

TEST_CASE("dp zero-1: on one rank zero_stage 1 changes nothing") {
  std::vector<RankResult> plain = Train(config::LearnerMode::kSft, 1, Spec(0));
  std::vector<RankResult> sharded = Train(config::LearnerMode::kSft, 1, Spec(1));
  RequireOk(plain);
  RequireOk(sharded);
  CHECK(testing::Identical(plain[0].params, sharded[0].params));
  CHECK(sharded[0].optimizer_state_bytes == plain[0].optimizer_state_bytes);
}

// Every tensor of two optimizer.safetensors files, by name.
void CheckSameOptimizerFile(const std::string& a_dir, const std::string& b_dir) {
  auto a = checkpoint::SafetensorsFile::Open(a_dir + "/optimizer.safetensors");
  auto b = checkpoint::SafetensorsFile::Open(b_dir + "/optimizer.safetensors");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE((*a)->names() == (*b)->names());
  CHECK(!(*a)->names().empty());
  for (const std::string& name : (*a)->names()) {
    INFO(name);
    CHECK(testing::Identical({*(*a)->Get(name)}, {*(*b)->Get(name)}));
  }
}

TEST_CASE("dp zero-1: a sharded checkpoint resumes unsharded and the reverse bitwise") {
  const config::LearnerMode mode = config::LearnerMode::kPpo;
  const std::filesystem::path root = rein::testing::MakeTempDir("learner_zero1");
  const std::string sharded_ckpt = (root / "sharded").string();
  const std::string plain_ckpt = (root / "plain").string();
  std::vector<RankResult> uninterrupted = Train(mode, 2, Spec(0));
  RequireOk(uninterrupted);
  RequireOk(Train(mode, 2, Spec(1, 1, 2, "", sharded_ckpt)));
  RequireOk(Train(mode, 2, Spec(0, 1, 2, "", plain_ckpt)));
  // One format: the sharded ranks' gathered state is the unsharded rank 0's, tensor by tensor.
  CheckSameOptimizerFile(sharded_ckpt, plain_ckpt);
  for (const auto& [zero_stage, from] : {std::pair{0, sharded_ckpt}, std::pair{1, plain_ckpt}}) {
    INFO("resumed with zero_stage " << zero_stage << " from " << from);
    std::vector<RankResult> resumed = Train(mode, 2, Spec(zero_stage, 3, 3, from));
    RequireOk(resumed);
    for (int r = 0; r < 2; ++r) {
      INFO("rank " << r);
      CHECK(testing::Identical(resumed[r].params, uninterrupted[r].params));
      CHECK(testing::Identical(resumed[r].critic_params, uninterrupted[r].critic_params));
    }
    // Resumed sharded, each rank kept only its part of the restored state.
    if (zero_stage == 1) {
      CHECK(resumed[0].optimizer_state_bytes + resumed[1].optimizer_state_bytes ==
            uninterrupted[0].optimizer_state_bytes);
    }
  }
}

TEST_CASE("learner.zero_stage: only 0 and 1 and named by its key") {
  LearnerOptions options = Options(config::LearnerMode::kSft);
  options.learner.zero_stage = 2;
  const absl::Status checked = CheckLearnerOptions(options);
  CHECK(checked.code() == absl::StatusCode::kInvalidArgument);
  CHECK(checked.message() ==
        "learner.zero_stage: 2 is not 0 (off) or 1 (optimizer state sharded across "
        "learner.ranks)");
  CHECK(LearnerState::Create(options).status() == checked);
  options.learner.zero_stage = 1;
  CHECK(CheckLearnerOptions(options).ok());
}

}  // namespace
}  // namespace rein::learner
