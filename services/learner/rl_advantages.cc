#include "services/learner/rl_advantages.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/empty_like.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "common/rl/advantages.h"
#include "common/rl/critic_free.h"
#include "common/rl/masked.h"
#include "common/status/status_macros.h"
#include "services/learner/dist_stats.h"
#include "services/learner/packed_batch.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {

rl::KlEstimator ToKlEstimator(config::KlEstimator estimator) {
  switch (estimator) {
    case config::KlEstimator::kK1: return rl::KlEstimator::kK1;
    case config::KlEstimator::kK2: return rl::KlEstimator::kK2;
    case config::KlEstimator::kK3: return rl::KlEstimator::kK3;
  }
  return rl::KlEstimator::kK1;
}

absl::StatusOr<std::vector<std::vector<int64_t>>> GroupRows(const std::vector<uint64_t>& ids) {
  std::vector<std::vector<int64_t>> groups;
  std::map<uint64_t, size_t> index;
  for (size_t row = 0; row < ids.size(); ++row) {
    auto [it, added] = index.emplace(ids[row], groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(static_cast<int64_t>(row));
  }
  for (const std::vector<int64_t>& g : groups) {
    if (g.size() < 2 || g.size() != groups.front().size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "experiences: group_id ", ids[g.front()], " has ", g.size(),
          " responses; group estimators need every group_id to hold the same number (>= 2) of "
          "responses (the first group has ",
          groups.front().size(), ")"));
    }
  }
  return groups;
}

namespace {

// Runs a group estimator on rows permuted so that each group is contiguous, and puts the
// result back in the batch's order.
absl::StatusOr<at::Tensor> GroupAdvantages(config::LearnerMode mode, const at::Tensor& scores,
                                           const at::Tensor& mask,
                                           const std::vector<uint64_t>& group_ids) {
  ASSIGN_OR_RETURN(std::vector<std::vector<int64_t>> groups, GroupRows(group_ids));
  std::vector<int64_t> order;
  for (const std::vector<int64_t>& g : groups) order.insert(order.end(), g.begin(), g.end());
  const at::Tensor perm = LongTensor(order, scores.device());
  const int64_t n = static_cast<int64_t>(groups.front().size());
  const at::Tensor s = scores.index_select(0, perm);
  const at::Tensor m = mask.index_select(0, perm);
  at::Tensor permuted;
  if (mode == config::LearnerMode::kGrpo) {
    ASSIGN_OR_RETURN(permuted, rl::GrpoAdvantages(s, m, n));
  } else {
    ASSIGN_OR_RETURN(permuted, rl::RlooAdvantages(s, m, n));
  }
  return GuardTorch("group advantages", [&]() -> absl::StatusOr<at::Tensor> {
    return at::empty_like(permuted).index_copy_(0, perm, permuted);
  });
}

}  // namespace

absl::StatusOr<Advantages> ComputeAdvantages(config::LearnerMode mode,
                                             const config::PpoConfig& ppo,
                                             const AdvantageInputs& in) {
  ASSIGN_OR_RETURN(rl::TokenRewards rewards,
                   rl::ComputeTokenRewards(in.scores, in.logprobs, in.ref_logprobs, in.mask,
                                           in.reward_kl_coef, ToKlEstimator(ppo.kl_estimator)));
  Advantages out;
  out.mean_sequence_kl = rewards.mean_sequence_kl;
  if (in.comm != nullptr && in.comm->world_size() > 1) {
    const double rows = static_cast<double>(in.scores.size(0));
    ASSIGN_OR_RETURN(std::vector<double> kl,
                     GlobalSums(in.comm, {rewards.mean_sequence_kl * rows, rows}));
    out.mean_sequence_kl = kl[0] / kl[1];
  }
  switch (mode) {
    case config::LearnerMode::kPpo: {
      ASSIGN_OR_RETURN(rl::GaeResult gae, rl::ComputeGae(rewards.rewards, in.values, in.mask,
                                                         {.gamma = ppo.gamma,
                                                          .lambda = ppo.lambda_}));
      out.returns = gae.returns;
      if (ppo.whiten_advantages) {
        ASSIGN_OR_RETURN(out.advantages, GlobalWhiten(in.comm, gae.advantages, in.mask));
      } else {
        out.advantages = gae.advantages;
      }
      return out;
    }
    case config::LearnerMode::kGrpo:
    case config::LearnerMode::kRloo: {
      ASSIGN_OR_RETURN(at::Tensor scores,
                       GuardTorch("KL-penalised scores", [&]() -> absl::StatusOr<at::Tensor> {
                         return in.scores - in.reward_kl_coef * (rewards.kl * in.mask).sum(1);
                       }));
      ASSIGN_OR_RETURN(out.advantages, GroupAdvantages(mode, scores, in.mask, in.group_ids));
      return out;
    }
    case config::LearnerMode::kReinforcePlusPlus: {
      // rl::ReinforcePlusPlusAdvantages, with the whitening over every rank's tokens.
      ASSIGN_OR_RETURN(at::Tensor returns,
                       rl::DiscountedReturns(rewards.rewards, in.mask, ppo.gamma));
      ASSIGN_OR_RETURN(out.advantages, GlobalWhiten(in.comm, returns, in.mask,
                                                    rl::ReinforcePlusPlusOptions{}.eps));
      return out;
    }
    case config::LearnerMode::kSft:
    case config::LearnerMode::kRewardModel:
    case config::LearnerMode::kDpo:
    case config::LearnerMode::kIpo:
    case config::LearnerMode::kKto:
    case config::LearnerMode::kCostModel: break;
  }
  return absl::InvalidArgumentError("ComputeAdvantages: not an RL mode");
}

}  // namespace rein::learner
