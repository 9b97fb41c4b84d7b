// The enums of the experiment config and their config spellings. Each table is the single
// source of a spelling: parsing, error messages and the rendered defaults all read it, and
// EnumName(value) gives the same text for logs.
#ifndef REIN_COMMON_CONFIG_CONFIG_ENUMS_H_
#define REIN_COMMON_CONFIG_CONFIG_ENUMS_H_

#include "common/config/enum_names.h"
#include "common/log/log.h"

namespace rein::config {

// sync: generate, score and train strictly in turn. async: generation of iteration k+1 overlaps
// training on k, bounded by run.max_policy_lag.
enum class RunMode { kSync, kAsync };
template <>
struct EnumNames<RunMode> {
  static constexpr EnumEntry<RunMode> kEntries[] = {{"sync", RunMode::kSync},
                                                    {"async", RunMode::kAsync}};
};

enum class PromptFormat { kAuto, kText, kChat };
template <>
struct EnumNames<PromptFormat> {
  static constexpr EnumEntry<PromptFormat> kEntries[] = {
      {"auto", PromptFormat::kAuto}, {"text", PromptFormat::kText}, {"chat", PromptFormat::kChat}};
};

enum class DType { kAuto, kF32, kBF16, kF16 };
template <>
struct EnumNames<DType> {
  static constexpr EnumEntry<DType> kEntries[] = {
      {"auto", DType::kAuto}, {"f32", DType::kF32}, {"bf16", DType::kBF16}, {"f16", DType::kF16}};
};

enum class Device { kCpu, kCuda };
template <>
struct EnumNames<Device> {
  static constexpr EnumEntry<Device> kEntries[] = {{"cpu", Device::kCpu}, {"cuda", Device::kCuda}};
};

enum class LearnerMode { kSft, kRewardModel, kPpo, kGrpo, kRloo, kReinforcePlusPlus, kDpo, kIpo, kKto, kCostModel };
template <>
struct EnumNames<LearnerMode> {
  static constexpr EnumEntry<LearnerMode> kEntries[] = {
      {"sft", LearnerMode::kSft},   {"reward-model", LearnerMode::kRewardModel},
      {"ppo", LearnerMode::kPpo},   {"grpo", LearnerMode::kGrpo},
      {"rloo", LearnerMode::kRloo}, {"reinforce++", LearnerMode::kReinforcePlusPlus},
      {"dpo", LearnerMode::kDpo},   {"ipo", LearnerMode::kIpo},
      {"kto", LearnerMode::kKto},   {"cost-model", LearnerMode::kCostModel}};
};

// The offline preference learners: they train the policy straight from judgements, against
// the reference model's log-probs, with no rollouts and no reward model.
constexpr bool IsOfflinePreference(LearnerMode mode) {
  return mode == LearnerMode::kDpo || mode == LearnerMode::kIpo || mode == LearnerMode::kKto;
}

// The modes that train a scalar head on judgements: reward-model, and cost-model (approve/flag
// labels with flagged as the positive class, so the score is the logit of "flagged").
constexpr bool TrainsScalarHead(LearnerMode mode) {
  return mode == LearnerMode::kRewardModel || mode == LearnerMode::kCostModel;
}

// True for the modes that sample from the policy and train on rewards.
constexpr bool IsReinforcementLearning(LearnerMode mode) {
  return mode != LearnerMode::kSft && !TrainsScalarHead(mode) && !IsOfflinePreference(mode);
}

// True for the modes that need the reference service.
constexpr bool UsesReference(LearnerMode mode) {
  return IsReinforcementLearning(mode) || IsOfflinePreference(mode);
}

enum class CollectiveBackend { kAuto, kGloo, kNccl };
template <>
struct EnumNames<CollectiveBackend> {
  static constexpr EnumEntry<CollectiveBackend> kEntries[] = {{"auto", CollectiveBackend::kAuto},
                                                              {"gloo", CollectiveBackend::kGloo},
                                                              {"nccl", CollectiveBackend::kNccl}};
};

enum class LrSchedule { kConstant, kLinear, kCosine };
template <>
struct EnumNames<LrSchedule> {
  static constexpr EnumEntry<LrSchedule> kEntries[] = {{"constant", LrSchedule::kConstant},
                                                       {"linear", LrSchedule::kLinear},
                                                       {"cosine", LrSchedule::kCosine}};
};

// How the cost model's score enters the reward PPO trains on (safety.mode).
enum class SafetyMode { kOff, kPenalty, kConstraint };
template <>
struct EnumNames<SafetyMode> {
  static constexpr EnumEntry<SafetyMode> kEntries[] = {{"off", SafetyMode::kOff},
                                                       {"penalty", SafetyMode::kPenalty},
                                                       {"constraint", SafetyMode::kConstraint}};
};

// What each round's reward model trains on (rounds.reward_model.data).
enum class RoundData { kAll, kRound };
template <>
struct EnumNames<RoundData> {
  static constexpr EnumEntry<RoundData> kEntries[] = {{"all", RoundData::kAll},
                                                      {"round", RoundData::kRound}};
};

enum class CriticInit { kRewardModel, kPolicy };
template <>
struct EnumNames<CriticInit> {
  static constexpr EnumEntry<CriticInit> kEntries[] = {{"reward-model", CriticInit::kRewardModel},
                                                       {"policy", CriticInit::kPolicy}};
};

// Per-token KL estimators of Schulman's "Approximating KL divergence": k1 = -log r,
// k2 = (log r)^2 / 2, k3 = (r - 1) - log r, with r = pi_ref / pi.
enum class KlEstimator { kK1, kK2, kK3 };
template <>
struct EnumNames<KlEstimator> {
  static constexpr EnumEntry<KlEstimator> kEntries[] = {
      {"k1", KlEstimator::kK1}, {"k2", KlEstimator::kK2}, {"k3", KlEstimator::kK3}};
};

enum class KlController { kFixed, kAdaptive };
template <>
struct EnumNames<KlController> {
  static constexpr EnumEntry<KlController> kEntries[] = {{"fixed", KlController::kFixed},
                                                         {"adaptive", KlController::kAdaptive}};
};

// The logger's own levels, spelled as --log_level spells them.
template <>
struct EnumNames<log::Level> {
  static constexpr EnumEntry<log::Level> kEntries[] = {{"debug", log::Level::kDebug},
                                                       {"info", log::Level::kInfo},
                                                       {"warning", log::Level::kWarning},
                                                       {"error", log::Level::kError}};
};

}  // namespace rein::config

#endif  // REIN_COMMON_CONFIG_CONFIG_ENUMS_H_
