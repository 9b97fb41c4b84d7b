#include "services/reward/reward_service.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files/confined_path.h"
#include "common/log/log.h"
#include "common/metrics/families.h"
#include "common/rpc/caller_waits.h"
#include "common/rpc/request_limits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/worker/token_sequences.h"

namespace rein::reward {

struct RewardService::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : scored_sequences(metrics::AddCounter(registry, "rein_reward_scored_sequences_total",
                                             "Sequences given a reward.")),
        score_seconds(
            metrics::AddHistogram(registry, "rein_reward_score_seconds",
                                  "Wall time of successful Score calls, in seconds.",
                                  prometheus::Histogram::BucketBoundaries{
                                      0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60})),
        reward(metrics::AddHistogram(
            registry, "rein_reward_sequence_reward",
            "Reward (weighted sum, dimensionless) of each scored sequence.",
            prometheus::Histogram::BucketBoundaries{-10, -5, -2, -1, -0.5, 0, 0.5, 1, 2, 5, 10})),
        requests_in_flight(metrics::AddGauge(registry, "rein_reward_requests_in_flight",
                                             "Score calls running now.")),
        model_version(metrics::AddGauge(registry, "rein_reward_model_version",
                                        "Version of the reward model Score uses (0 = as "
                                        "started; Reload sets it).")) {}

  prometheus::Counter& scored_sequences;
  prometheus::Histogram& score_seconds;
  prometheus::Histogram& reward;
  prometheus::Gauge& requests_in_flight;
  prometheus::Gauge& model_version;
};

absl::StatusOr<std::unique_ptr<RewardService>> RewardService::Create(
    const RewardServiceOptions& options, std::unique_ptr<tokenizer::Tokenizer> tokenizer,
    prometheus::Registry& registry) {
  const bool length_on = options.length_penalty_weight != 0;
  const bool regex_on = options.regex_weight != 0;
  if (options.model_dir.empty() && !length_on && !regex_on && !options.await_reload) {
    return absl::InvalidArgumentError(
        "no reward model (model.reward_model) and no rule reward with a weight: nothing to "
        "score with");
  }
  if (length_on && options.length_penalty_target_tokens <= 0) {
    return absl::InvalidArgumentError("reward.rules.length_penalty.target_tokens must be > 0");
  }
  std::unique_ptr<RegexRule> regex;
  if (regex_on) {
    if (tokenizer == nullptr) {
      return absl::InvalidArgumentError("the regex rule needs a tokenizer to decode responses");
    }
    ASSIGN_OR_RETURN(regex, RegexRule::Create(options.regex_pattern));
  }
  std::shared_ptr<const RewardModel> model;
  if (!options.model_dir.empty()) {
    if (!options.loader) return absl::InvalidArgumentError("no reward model loader");
    ASSIGN_OR_RETURN(model, options.loader(options.model_dir));
    REIN_LOG(INFO, "reward") << "reward model " << options.model_dir << " fingerprint "
                             << model->fingerprint();
  }
  std::unique_ptr<const RewardModel> cost_model;
  if (!options.cost_model_dir.empty()) {
    if (!options.loader) return absl::InvalidArgumentError("no cost model loader");
    ASSIGN_OR_RETURN(cost_model, options.loader(options.cost_model_dir));
    if (model != nullptr &&
        cost_model->model().config().vocab_size != model->model().config().vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model.cost_model: vocabulary of ", cost_model->model().config().vocab_size,
          " tokens, the reward model's has ", model->model().config().vocab_size));
    }
    REIN_LOG(INFO, "reward") << "cost model " << options.cost_model_dir << " fingerprint "
                             << cost_model->fingerprint();
  }
  if (model == nullptr && options.vocab_size <= 0 && tokenizer == nullptr) {
    return absl::InvalidArgumentError(
        "without a reward model, vocab_size or a tokenizer is needed");
  }
  return std::unique_ptr<RewardService>(new RewardService(options, std::move(model),
                                                          std::move(cost_model),
                                                          std::move(tokenizer), std::move(regex),
                                                          std::make_unique<Metrics>(registry)));
}

RewardService::RewardService(const RewardServiceOptions& options,
                             std::shared_ptr<const RewardModel> model,
                             std::unique_ptr<const RewardModel> cost_model,
                             std::unique_ptr<tokenizer::Tokenizer> tokenizer,
                             std::unique_ptr<RegexRule> regex, std::unique_ptr<Metrics> metrics)
    : options_(options),
      tokenizer_(std::move(tokenizer)),
      regex_(std::move(regex)),
      metrics_(std::move(metrics)),
      model_(std::move(model)),
      cost_model_(std::move(cost_model)) {}

RewardService::~RewardService() = default;

RewardService::Current RewardService::CurrentModel() const {
  absl::MutexLock lock(&mu_);
  return {model_, version_, cost_model_, cost_version_};
}

std::string RewardService::model_fingerprint() const {
  std::shared_ptr<const RewardModel> model = CurrentModel().model;
  return model == nullptr ? "" : model->fingerprint();
}

absl::StatusOr<rein::v1::ScoreResponse> RewardService::RunScore(
    const rein::v1::ScoreRequest& request,
    const std::function<absl::Status()>& keep_going) const {
  metrics_->requests_in_flight.Increment();
  struct Done {
    prometheus::Gauge& gauge;
    ~Done() { gauge.Decrement(); }
  } done{metrics_->requests_in_flight};
  const absl::Time start = absl::Now();

  // One model for the whole call, even if a Reload lands meanwhile.
  const Current current = CurrentModel();
  const std::shared_ptr<const RewardModel>& model = current.model;
  const std::shared_ptr<const RewardModel>& cost_model = current.cost_model;
  if (model == nullptr && options_.await_reload && options_.length_penalty_weight == 0 &&
      options_.regex_weight == 0) {
    return absl::FailedPreconditionError(
        "no reward model loaded yet: this replica waits for its first Reload (the first "
        "round's reward model)");
  }
  worker::SequenceLimits limits;
  if (model != nullptr) {
    limits.vocab_size = model->model().config().vocab_size;
    limits.max_length = model->model().config().max_position_embeddings;
  } else {
    limits.vocab_size = options_.vocab_size > 0 ? options_.vocab_size : tokenizer_->vocab_size();
  }
  if (cost_model != nullptr) {
    // Create checked that the two models share one vocabulary; the cost model may still be the
    // only model, or have a shorter context.
    limits.vocab_size = cost_model->model().config().vocab_size;
    const int64_t cost_context = cost_model->model().config().max_position_embeddings;
    if (limits.max_length == 0 || cost_context < limits.max_length) limits.max_length = cost_context;
  }
  limits.max_sequences = options_.max_sequences_per_call;
  RETURN_IF_ERROR(worker::ValidateSequences(request.sequences(), limits));

  std::vector<float> model_scores, costs;
  if (model != nullptr || cost_model != nullptr) {
    std::vector<std::vector<int64_t>> full;
    full.reserve(static_cast<size_t>(request.sequences_size()));
    for (const rein::v1::TokenSequence& s : request.sequences()) {
      full.push_back(worker::FullSequence(s));
    }
    if (model != nullptr) {
      ASSIGN_OR_RETURN(model_scores,
                       model->Score(full, RewardModel::kDefaultMaxBatchTokens, keep_going));
    }
    if (cost_model != nullptr) {
      ASSIGN_OR_RETURN(costs,
                       cost_model->Score(full, RewardModel::kDefaultMaxBatchTokens, keep_going));
    }
  }

  rein::v1::ScoreResponse response;
  double sum = 0, cost_sum = 0;
  for (int i = 0; i < request.sequences_size(); ++i) {
    const rein::v1::TokenSequence& s = request.sequences(i);
    rein::v1::SequenceReward* out = response.add_rewards();
    out->set_sequence_id(s.sequence_id());
    auto& components = *out->mutable_components();
    double reward = 0;
    if (model != nullptr) {
      const double value = model_scores[static_cast<size_t>(i)];
      components["reward_model"] = static_cast<float>(value);
      reward += options_.model_weight * value;
    }
    if (options_.length_penalty_weight != 0) {
      const double value =
          LengthPenalty(s.response_ids_size(), options_.length_penalty_target_tokens);
      components["length_penalty"] = static_cast<float>(value);
      reward += options_.length_penalty_weight * value;
    }
    if (regex_ != nullptr) {
      tokenizer::DecodeOptions decode;
      decode.skip_special_tokens = true;
      // Ids the tokenizer does not know (a policy's embedding is often padded past the
      // vocabulary, and an untrained one may sample there) have no text: they are left out.
      std::vector<tokenizer::TokenId> known;
      for (int32_t id : s.response_ids()) {
        if (tokenizer_->IsValidId(id)) known.push_back(id);
      }
      absl::StatusOr<std::string> text = tokenizer_->Decode(known, decode);
      if (!text.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("sequences[", i, "] (sequence_id ", s.sequence_id(),
                         "): decoding response_ids: ", text.status().message()));
      }
      ASSIGN_OR_RETURN(double value, regex_->Score(*text));
      components["regex"] = static_cast<float>(value);
      reward += options_.regex_weight * value;
    }
    const float as_float = static_cast<float>(reward);
    if (!std::isfinite(as_float)) {
      std::string parts;
      for (const auto& [name, value] : components) absl::StrAppend(&parts, " ", name, "=", value);
      return absl::InternalError(absl::StrCat("reward of sequence_id ", s.sequence_id(),
                                              " (sequences[", i, "]) is ", as_float,
                                              "; components:", parts));
    }
    out->set_reward(as_float);
    sum += reward;
    if (cost_model != nullptr) {
      const float cost = costs[static_cast<size_t>(i)];
      if (!std::isfinite(cost)) {
        return absl::InternalError(absl::StrCat("cost of sequence_id ", s.sequence_id(),
                                                " (sequences[", i, "]) is ", cost));
      }
      out->set_cost(cost);
      cost_sum += cost;
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  response.set_reward_model_version(current.version);
  if (cost_model != nullptr) response.set_cost_model_version(current.cost_version);
  if (model != nullptr) response.set_reward_model_fingerprint(model->fingerprint());
  auto& stats = *response.mutable_stats()->mutable_values();
  stats["time/score_seconds"] = seconds;
  stats["reward/mean"] = sum / request.sequences_size();
  if (cost_model != nullptr) stats["cost/mean"] = cost_sum / request.sequences_size();
  metrics_->scored_sequences.Increment(request.sequences_size());
  metrics_->score_seconds.Observe(seconds);
  for (const rein::v1::SequenceReward& r : response.rewards()) metrics_->reward.Observe(r.reward());
  return response;
}

absl::StatusOr<std::string> RewardService::AllowedModelDir(const std::string& dir,
                                                           bool admin) const {
  std::vector<std::string> roots = options_.model_roots;
  for (const std::string* configured : {&options_.model_dir, &options_.cost_model_dir}) {
    if (!configured->empty()) roots.push_back(*configured);
  }
  // An admin may load from anywhere: the whole file system becomes the last root (relative
  // folders still start at the first, and the other refusals still apply).
  if (admin) roots.push_back("/");
  return files::ResolveReadableDir("model_dir", dir, roots);
}

absl::StatusOr<rein::v1::ReloadResponse> RewardService::RunReload(
    const rein::v1::ReloadRequest& request, bool admin) {
  RETURN_IF_ERROR(rpc::CheckPath("model_dir", request.model_dir(), /*allow_empty=*/true));
  // Versions move forward by one per round; a jump to 2^64 - 1 would wrap the next default.
  constexpr uint64_t kMaxVersion = uint64_t{1} << 53;
  if (request.version() > kMaxVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("version: ", request.version(), " is above the limit of ", kMaxVersion));
  }
  absl::MutexLock reload_lock(&reload_mu_);
  const std::string& configured =
      request.cost_model() ? options_.cost_model_dir : options_.model_dir;
  const std::string given = request.model_dir().empty() ? configured : request.model_dir();
  if (given.empty()) {
    return absl::FailedPreconditionError(request.cost_model()
                                             ? "no cost model folder configured "
                                               "(model.cost_model) and none given"
                                             : "no reward model folder configured "
                                               "(model.reward_model) and none given");
  }
  if (!options_.loader) return absl::FailedPreconditionError("no reward model loader");
  ASSIGN_OR_RETURN(const std::string dir, AllowedModelDir(given, admin));
  // Loaded without the lock: Score calls go on with the current model meanwhile.
  ASSIGN_OR_RETURN(std::shared_ptr<const RewardModel> loaded, options_.loader(dir));
  const bool cost = request.cost_model();
  const Current current = CurrentModel();
  const std::shared_ptr<const RewardModel>& other = cost ? current.model : current.cost_model;
  if (other != nullptr &&
      other->model().config().vocab_size != loaded->model().config().vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model_dir ", dir, ": vocabulary of ", loaded->model().config().vocab_size,
        " tokens, the ", cost ? "reward" : "cost", " model's has ",
        other->model().config().vocab_size));
  }
  rein::v1::ReloadResponse response;
  response.set_model_fingerprint(loaded->fingerprint());
  {
    // A model and its version change together: a Score sees both old or both new.
    absl::MutexLock lock(&mu_);
    std::shared_ptr<const RewardModel>& slot = cost ? cost_model_ : model_;
    uint64_t& version = cost ? cost_version_ : version_;
    slot = std::move(loaded);
    version = request.version() > 0 ? request.version() : version + 1;
    response.set_version(version);
  }
  if (!cost) metrics_->model_version.Set(static_cast<double>(response.version()));
  REIN_LOG(INFO, "reward") << "reloaded the " << (cost ? "cost" : "reward") << " model from "
                           << dir << " as version " << response.version() << ", fingerprint "
                           << response.model_fingerprint();
  return response;
}

grpc::Status RewardService::Score(grpc::ServerContext* context,
                                  const rein::v1::ScoreRequest* request,
                                  rein::v1::ScoreResponse* response) {
  absl::StatusOr<rein::v1::ScoreResponse> result =
      RunScore(*request, rpc::CallerWaitsCheck(context));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status RewardService::Reload(grpc::ServerContext* context,
                                   const rein::v1::ReloadRequest* request,
                                   rein::v1::ReloadResponse* response) {
  const bool admin = options_.is_admin && options_.is_admin(*context);
  absl::StatusOr<rein::v1::ReloadResponse> result = RunReload(*request, admin);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace rein::reward
