// Data-parallel learner ranks (threads of this process, Gloo over loopback): R = 2 ranks with
// half of each batch take the same steps as one rank with the whole batch, and end with
// identical parameters.
#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include <prometheus/registry.h>

#include "common/dist/gloo_communicator.h"
#include "common/status/status_macros.h"
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
  std::map<std::string, double> stats;
};

// Trains `world` ranks for kIterations, rank r on rows [r·8/world, (r+1)·8/world).
std::vector<RankResult> Train(config::LearnerMode mode, int world) {
  std::vector<RankResult> results(world);
  dist::StorePtr store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      RankResult& out = results[r];
      out.status = [&]() -> absl::Status {
        LearnerOptions options = Options(mode);
        options.learner.ranks = world;
        ASSIGN_OR_RETURN(std::unique_ptr<LearnerState> state, LearnerState::Create(options));
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
        for (int it = 1; it <= kIterations; ++it) {
          rein::v1::TrainRequest request;
          learner->InspectState([&](LearnerState& s) {
            request = MakeRequest(mode, s.policy(), r * kRows / world, (r + 1) * kRows / world,
                                  static_cast<uint64_t>(it));
          });
          ASSIGN_OR_RETURN(rein::v1::TrainResponse reply, learner->Train(request));
          out.stats.clear();
          for (const auto& [name, value] : reply.stats().values()) out.stats[name] = value;
        }
        learner->InspectState([&](LearnerState& s) { out.params = testing::Snapshot(s.policy()); });
        return absl::OkStatus();
      }();
    });
  }
  for (std::thread& t : threads) t.join();
  return results;
}

void CheckEquivalent(config::LearnerMode mode) {
  std::vector<RankResult> one = Train(mode, 1);
  std::vector<RankResult> two = Train(mode, 2);
  for (const RankResult& r : one) REQUIRE(r.status.ok());
  for (const RankResult& r : two) {
    INFO(r.status.ToString());
    REQUIRE(r.status.ok());
  }
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

}  // namespace
}  // namespace rein::learner
