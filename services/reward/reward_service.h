// The Reward gRPC service (proto/rein/v1/reward.proto): the reward of each sequence is
//
//   model_weight * reward_model + length_penalty.weight * length_penalty
//                               + regex.weight * regex
//
// with each enabled component (the reward model when there is one, a rule when its weight is
// not 0) also reported unweighted in SequenceReward.components under those names. See
// rule_rewards.h for the rules. A reward that is NaN or infinite fails the whole call with
// INTERNAL naming the sequence, so it is never trained on.
//
// Policy version: rewards do not depend on the policy; the service speaks for the reward model
// loaded now (Reload swaps it, or the cost model; calls in flight finish on the models they
// started with).
//
// Ownership: shares the reward model with the calls that use it; owns the tokenizer and regex.
// Thread safety: all handlers may run concurrently; Reloads are serialised.
#ifndef REIN_SERVICES_REWARD_REWARD_SERVICE_H_
#define REIN_SERVICES_REWARD_REWARD_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/tokenizer/tokenizer.h"
#include "rein/v1/reward.grpc.pb.h"
#include "services/reward/reward_model.h"
#include "services/reward/rule_rewards.h"

namespace rein::reward {

// Reads a reward model from a folder (CausalLM::Load with the scalar head, in production).
using RewardModelLoader =
    std::function<absl::StatusOr<std::unique_ptr<RewardModel>>(const std::string& dir)>;

struct RewardServiceOptions {
  // Weight of the reward model's score. Default: 1.
  double model_weight = 1.0;
  // Rules; a weight of 0 turns a rule off. Defaults: off.
  double length_penalty_weight = 0.0;
  int64_t length_penalty_target_tokens = 256;  // > 0
  double regex_weight = 0.0;
  std::string regex_pattern;  // Required when regex_weight != 0.
  // Folder of the reward model, loaded at Create and by Reload without a folder; empty = no
  // reward model (only allowed when some rule has a weight).
  std::string model_dir;
  // Folder of the cost model (scalar head, the logit of "flagged"), loaded at Create through
  // `loader`; its score is SequenceReward.cost and never enters the reward. Empty = none
  // (until a Reload with cost_model loads one).
  std::string cost_model_dir;
  // How model folders are read. Required when model_dir is set or Reload is to be used.
  RewardModelLoader loader;
  // Folders Reload may load a model from besides model_dir and cost_model_dir (relative
  // folders are taken against the first): the run folder's round outputs. Anything else is
  // PERMISSION_DENIED (common/files/confined_path.h). Default: none.
  std::vector<std::string> model_roots;
  // Whether the caller holds the admin credential, which lets Reload load from anywhere.
  // Unset = nobody is admin.
  std::function<bool(const grpc::ServerContext&)> is_admin;
  // Start without a reward model and without rules, waiting for the first Reload (a run with
  // rounds trains its first reward model in round 1). Until then Score is FAILED_PRECONDITION.
  bool await_reload = false;
  // Most sequences per Score call (RESOURCE_EXHAUSTED beyond); 0 = unlimited. Default: 0.
  int64_t max_sequences_per_call = 0;
  // Id range when there is no reward model (ids are checked against the model's vocabulary
  // otherwise). Default: the tokenizer's vocab_size.
  int64_t vocab_size = 0;
};

class RewardService final : public rein::v1::Reward::Service {
 public:
  // Loads options.model_dir (if set) through options.loader. `tokenizer` is required when the
  // regex rule is on (the response is decoded for it) and may be null otherwise. Metrics go to
  // `registry`, which must outlive the service. INVALID_ARGUMENT for contradictory options,
  // e.g. no reward model and no rule.
  static absl::StatusOr<std::unique_ptr<RewardService>> Create(
      const RewardServiceOptions& options, std::unique_ptr<tokenizer::Tokenizer> tokenizer,
      prometheus::Registry& registry);
  ~RewardService() override;
  RewardService(const RewardService&) = delete;
  RewardService& operator=(const RewardService&) = delete;

  grpc::Status Score(grpc::ServerContext* context, const rein::v1::ScoreRequest* request,
                     rein::v1::ScoreResponse* response) override;
  grpc::Status Reload(grpc::ServerContext* context, const rein::v1::ReloadRequest* request,
                      rein::v1::ReloadResponse* response) override;

  // The handlers without gRPC.
  // `keep_going` is asked between scoring batches.
  absl::StatusOr<rein::v1::ScoreResponse> RunScore(
      const rein::v1::ScoreRequest& request, const std::function<absl::Status()>& keep_going = {}) const;
  // `admin`: the caller holds the admin credential (see RewardServiceOptions::is_admin).
  absl::StatusOr<rein::v1::ReloadResponse> RunReload(const rein::v1::ReloadRequest& request,
                                                     bool admin = false);

  // Fingerprint of the reward model in use; empty without one.
  std::string model_fingerprint() const;

 private:
  struct Metrics;
  RewardService(const RewardServiceOptions& options, std::shared_ptr<const RewardModel> model,
                std::unique_ptr<const RewardModel> cost_model,
                std::unique_ptr<tokenizer::Tokenizer> tokenizer,
                std::unique_ptr<RegexRule> regex, std::unique_ptr<Metrics> metrics);
  // The model Score uses now and the version it reports.
  struct Current {
    std::shared_ptr<const RewardModel> model;
    uint64_t version = 0;
    std::shared_ptr<const RewardModel> cost_model;  // null = none
    uint64_t cost_version = 0;
  };
  Current CurrentModel() const;
  // `dir` resolved, when Reload may load from it (see model_roots).
  absl::StatusOr<std::string> AllowedModelDir(const std::string& dir, bool admin) const;

  const RewardServiceOptions options_;
  const std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  const std::unique_ptr<RegexRule> regex_;
  const std::unique_ptr<Metrics> metrics_;

  absl::Mutex reload_mu_;  // Held for a whole Reload: one at a time.
  mutable absl::Mutex mu_;
  std::shared_ptr<const RewardModel> model_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const RewardModel> cost_model_ ABSL_GUARDED_BY(mu_);  // null = none
  uint64_t cost_version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace rein::reward

#endif  // REIN_SERVICES_REWARD_REWARD_SERVICE_H_
