#include "services/coordinator/stages.h"

#include <cmath>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "rein/v1/learner.grpc.pb.h"
#include "rein/v1/reference.grpc.pb.h"
#include "rein/v1/reward.grpc.pb.h"
#include "rein/v1/rollout.grpc.pb.h"
#include "services/coordinator/stage_calls.h"

namespace rein::coordinator {

namespace {

// Takes the replicas whose calls failed during a stage out of the run (their work went to the
// others), saying which.
void ExcludeFailed(const StageContext& context, const DispatchStats& stats) {
  for (const std::string& id : stats.failed_workers) {
    const std::optional<Worker> worker = context.registry->FindActive(id);
    REIN_LOG(WARNING, "coordinator") << id << " (" << (worker ? worker->address : "gone")
                                     << ") failed a call, its work went to the others; taking "
                                        "it out of the run";
    context.registry->Exclude(id);
  }
}

}  // namespace

void SetStat(rein::v1::Stats& stats, const std::string& name, double value) {
  (*stats.mutable_values())[name] = value;
}

void FillSequence(const Sample& sample, rein::v1::TokenSequence* sequence) {
  sequence->set_sequence_id(sample.sequence_id);
  sequence->mutable_prompt_ids()->Add(sample.prompt_ids.begin(), sample.prompt_ids.end());
  sequence->mutable_response_ids()->Add(sample.response_ids.begin(), sample.response_ids.end());
}

void FillPreference(const data::PreferenceExample& example, uint64_t id,
                    rein::v1::Preference* preference) {
  preference->mutable_prompt_ids()->Add(example.prompt_ids.begin(), example.prompt_ids.end());
  for (size_t r = 0; r < example.responses.size(); ++r) {
    rein::v1::TokenSequence* response = preference->add_responses();
    response->set_sequence_id(id * 1000 + r);
    response->mutable_prompt_ids()->Add(example.prompt_ids.begin(), example.prompt_ids.end());
    response->mutable_response_ids()->Add(example.responses[r].begin(),
                                          example.responses[r].end());
  }
  for (bool tied : example.tied_with_next) preference->add_tied_with_next(tied);
  preference->set_margin(example.margin);
  if (example.label.has_value()) preference->set_label(*example.label);
}

namespace {

using rein::v1::TokenSequence;

// A worker's own measure of the compute behind a reply (0 when it reports none).
double ReportedSeconds(const rein::v1::Stats& stats, const std::string& key) {
  auto it = stats.values().find(key);
  return it == stats.values().end() ? 0.0 : it->second;
}

// One Generate call for prompts[range]; returns its samples in prompt-then-sample order.
absl::StatusOr<Timed<std::vector<Sample>>> GenerateRange(const StageContext& context,
                                                  const std::vector<PromptItem>& prompts,
                                                  const GenerateOptions& options,
                                                  const Worker& worker, Range range) {
  constexpr absl::string_view kMethod = "Rollout/Generate";
  rein::v1::GenerateRequest request;
  for (size_t i = range.begin; i < range.end; ++i) {
    rein::v1::GeneratePrompt* prompt = request.add_prompts();
    prompt->set_prompt_id(i);  // The index, so replies map straight back.
    prompt->mutable_token_ids()->Add(prompts[i].token_ids.begin(), prompts[i].token_ids.end());
    prompt->set_seed(prompts[i].seed);
  }
  *request.mutable_sampling() = options.sampling;
  request.set_samples_per_prompt(options.samples_per_prompt);
  request.set_min_policy_version(options.min_policy_version);
  request.set_policy_dir(options.policy_dir);
  request.set_policy_dir_version(options.policy_dir_version);
  rein::v1::GenerateResponse response;
  RETURN_IF_ERROR(CallWorker<rein::v1::Rollout>(context, worker, kMethod,
                                                &rein::v1::Rollout::Stub::Generate, request,
                                                &response));
  const size_t n = options.samples_per_prompt;
  if (response.completions_size() != static_cast<int>(range.size() * n)) {
    return Malformed(kMethod, worker, absl::StrCat(response.completions_size(), " completions for ",
                                                   range.size(), " prompts x ", n));
  }
  std::vector<Sample> samples(range.size() * n);
  std::vector<bool> seen(samples.size(), false);
  for (const rein::v1::Completion& completion : response.completions()) {
    uint64_t p = completion.prompt_id();
    if (p < range.begin || p >= range.end || completion.sample_index() >= n) {
      return Malformed(kMethod, worker, absl::StrCat("unknown prompt/sample ", p, "/",
                                                     completion.sample_index()));
    }
    if (completion.logprobs_size() != completion.token_ids_size()) {
      return Malformed(kMethod, worker, "logprobs and token_ids differ in length");
    }
    size_t slot = (p - range.begin) * n + completion.sample_index();
    if (seen[slot]) return Malformed(kMethod, worker, "duplicate completion");
    seen[slot] = true;
    Sample& sample = samples[slot];
    sample.sequence_id = p * n + completion.sample_index();
    sample.prompt_id = prompts[p].prompt_id;
    sample.prompt_ids = prompts[p].token_ids;
    sample.response_ids.assign(completion.token_ids().begin(), completion.token_ids().end());
    sample.behaviour_logprobs.assign(completion.logprobs().begin(), completion.logprobs().end());
    sample.policy_version = response.policy_version();
    sample.finish_reason = completion.finish_reason();
  }
  return Timed<std::vector<Sample>>{std::move(samples), ReportedSeconds(response.stats(), "time/generate_seconds")};
}

// A sequence's reward and, when the service has a cost model, its cost.
struct Scored {
  float reward = 0;
  std::optional<float> cost;
  uint64_t reward_model_version = 0;
};

absl::StatusOr<Timed<std::vector<Scored>>> ScoreRange(const StageContext& context,
                                              const std::vector<Sample>& samples,
                                              const Worker& worker, Range range) {
  constexpr absl::string_view kMethod = "Reward/Score";
  rein::v1::ScoreRequest request;
  for (size_t i = range.begin; i < range.end; ++i) FillSequence(samples[i], request.add_sequences());
  rein::v1::ScoreResponse response;
  RETURN_IF_ERROR(CallWorker<rein::v1::Reward>(context, worker, kMethod,
                                               &rein::v1::Reward::Stub::Score, request, &response));
  if (response.rewards_size() != static_cast<int>(range.size())) {
    return Malformed(kMethod, worker, absl::StrCat(response.rewards_size(), " rewards for ",
                                                   range.size(), " sequences"));
  }
  std::vector<Scored> rewards;
  for (size_t i = 0; i < range.size(); ++i) {
    const rein::v1::SequenceReward& reward = response.rewards(static_cast<int>(i));
    if (reward.sequence_id() != samples[range.begin + i].sequence_id) {
      return Malformed(kMethod, worker, "rewards out of order");
    }
    if (!std::isfinite(reward.reward())) {
      return absl::InternalError(absl::StrCat(CallName(kMethod, worker), ": reward of sequence ",
                                              reward.sequence_id(), " is ", reward.reward(),
                                              "; not training on it"));
    }
    if (reward.has_cost() && !std::isfinite(reward.cost())) {
      return absl::InternalError(absl::StrCat(CallName(kMethod, worker), ": cost of sequence ",
                                              reward.sequence_id(), " is ", reward.cost(),
                                              "; not training on it"));
    }
    rewards.push_back({reward.reward(),
                       reward.has_cost() ? std::optional<float>(reward.cost()) : std::nullopt,
                       response.reward_model_version()});
  }
  return Timed<std::vector<Scored>>{std::move(rewards),
                                    ReportedSeconds(response.stats(), "time/score_seconds")};
}

absl::StatusOr<Timed<std::vector<std::vector<float>>>> ReferenceRange(const StageContext& context,
                                                               const std::vector<Sample>& samples,
                                                               const Worker& worker, Range range) {
  constexpr absl::string_view kMethod = "Reference/LogProbs";
  rein::v1::LogProbsRequest request;
  for (size_t i = range.begin; i < range.end; ++i) FillSequence(samples[i], request.add_sequences());
  rein::v1::LogProbsResponse response;
  RETURN_IF_ERROR(CallWorker<rein::v1::Reference>(context, worker, kMethod,
                                                  &rein::v1::Reference::Stub::LogProbs, request,
                                                  &response));
  if (response.sequences_size() != static_cast<int>(range.size())) {
    return Malformed(kMethod, worker, "one reply per sequence expected");
  }
  std::vector<std::vector<float>> logprobs;
  for (size_t i = 0; i < range.size(); ++i) {
    const rein::v1::SequenceLogProbs& reply = response.sequences(static_cast<int>(i));
    const Sample& sample = samples[range.begin + i];
    if (reply.sequence_id() != sample.sequence_id ||
        reply.logprobs_size() != static_cast<int>(sample.response_ids.size())) {
      return Malformed(kMethod, worker, absl::StrCat("sequence ", sample.sequence_id,
                                                     ": wrong id or log-prob count"));
    }
    logprobs.emplace_back(reply.logprobs().begin(), reply.logprobs().end());
  }
  return Timed<std::vector<std::vector<float>>>{
      std::move(logprobs), ReportedSeconds(response.stats(), "time/logprobs_seconds")};
}

// UNAVAILABLE when none of `role` is left, naming the replicas the run lost.
absl::Status RequireWorkers(const StageContext& context, const std::vector<Worker>& workers,
                            rein::v1::Role role) {
  if (!workers.empty()) return absl::OkStatus();
  std::string lost;
  for (const Worker& worker : context.registry->Lost(role)) {
    absl::StrAppend(&lost, lost.empty() ? "" : ", ", worker.id, " (", worker.address, ")");
  }
  return absl::UnavailableError(absl::StrCat(
      "no active ", rein::v1::Role_Name(role), " worker",
      lost.empty() ? std::string() : absl::StrCat(": lost ", lost, " after failed calls")));
}

}  // namespace

absl::StatusOr<std::vector<Sample>> GenerateStage(const StageContext& context,
                                                  const std::vector<PromptItem>& prompts,
                                                  const GenerateOptions& options,
                                                  DispatchStats* stats) {
  std::vector<Worker> workers = context.registry->Active(rein::v1::ROLE_ROLLOUT);
  RETURN_IF_ERROR(RequireWorkers(context, workers, rein::v1::ROLE_ROLLOUT));
  // Capacity counts sequences; a call carries capacity / samples_per_prompt prompts.
  for (Worker& worker : workers) {
    worker.capacity = std::max<int>(1, worker.capacity / static_cast<int>(options.samples_per_prompt));
  }
  ASSIGN_OR_RETURN(auto results,
                   Dispatch<Timed<std::vector<Sample>>>(
                       prompts.size(), workers,
                       [&](const Worker& worker, Range range) {
                         return GenerateRange(context, prompts, options, worker, range);
                       },
                       stats));
  std::vector<Sample> samples(prompts.size() * options.samples_per_prompt);
  for (auto& [range, timed] : results) {
    std::vector<Sample>& range_samples = timed.value;
    std::move(range_samples.begin(), range_samples.end(),
              samples.begin() + static_cast<std::ptrdiff_t>(range.begin * options.samples_per_prompt));
  }
  ExcludeFailed(context, *stats);
  return samples;
}

absl::Status ScoreStage(const StageContext& context, std::vector<Sample>& samples,
                        DispatchStats* reward_stats, DispatchStats* reference_stats) {
  std::vector<Worker> rewarders = context.registry->Active(rein::v1::ROLE_REWARD);
  std::vector<Worker> references = context.registry->Active(rein::v1::ROLE_REFERENCE);
  RETURN_IF_ERROR(RequireWorkers(context, rewarders, rein::v1::ROLE_REWARD));
  RETURN_IF_ERROR(RequireWorkers(context, references, rein::v1::ROLE_REFERENCE));
  absl::StatusOr<RangeResults<Timed<std::vector<Scored>>>> rewards;
  std::thread reward_thread([&] {
    rewards = Dispatch<Timed<std::vector<Scored>>>(
        samples.size(), rewarders,
        [&](const Worker& worker, Range range) { return ScoreRange(context, samples, worker, range); },
        reward_stats);
  });
  auto logprobs = Dispatch<Timed<std::vector<std::vector<float>>>>(
      samples.size(), references,
      [&](const Worker& worker, Range range) {
        return ReferenceRange(context, samples, worker, range);
      },
      reference_stats);
  reward_thread.join();
  RETURN_IF_ERROR(rewards.status());
  RETURN_IF_ERROR(logprobs.status());
  for (auto& [range, timed] : *rewards) {
    for (size_t i = 0; i < range.size(); ++i) {
      samples[range.begin + i].reward = timed.value[i].reward;
      samples[range.begin + i].cost = timed.value[i].cost;
      samples[range.begin + i].reward_model_version = timed.value[i].reward_model_version;
    }
  }
  for (auto& [range, timed] : *logprobs) {
    for (size_t i = 0; i < range.size(); ++i) {
      samples[range.begin + i].reference_logprobs = std::move(timed.value[i]);
    }
  }
  ExcludeFailed(context, *reward_stats);
  ExcludeFailed(context, *reference_stats);
  return absl::OkStatus();
}

absl::Status RewardStage(const StageContext& context, std::vector<Sample>& samples,
                         DispatchStats* stats) {
  std::vector<Worker> rewarders = context.registry->Active(rein::v1::ROLE_REWARD);
  RETURN_IF_ERROR(RequireWorkers(context, rewarders, rein::v1::ROLE_REWARD));
  ASSIGN_OR_RETURN(auto rewards,
                   Dispatch<Timed<std::vector<Scored>>>(
                       samples.size(), rewarders,
                       [&](const Worker& worker, Range range) {
                         return ScoreRange(context, samples, worker, range);
                       },
                       stats));
  for (auto& [range, timed] : rewards) {
    for (size_t i = 0; i < range.size(); ++i) {
      samples[range.begin + i].reward = timed.value[i].reward;
      samples[range.begin + i].cost = timed.value[i].cost;
      samples[range.begin + i].reward_model_version = timed.value[i].reward_model_version;
    }
  }
  ExcludeFailed(context, *stats);
  return absl::OkStatus();
}

absl::Status ReferenceStage(const StageContext& context, std::vector<Sample>& samples,
                            DispatchStats* stats) {
  std::vector<Worker> references = context.registry->Active(rein::v1::ROLE_REFERENCE);
  RETURN_IF_ERROR(RequireWorkers(context, references, rein::v1::ROLE_REFERENCE));
  ASSIGN_OR_RETURN(auto logprobs,
                   Dispatch<Timed<std::vector<std::vector<float>>>>(
                       samples.size(), references,
                       [&](const Worker& worker, Range range) {
                         return ReferenceRange(context, samples, worker, range);
                       },
                       stats));
  for (auto& [range, timed] : logprobs) {
    for (size_t i = 0; i < range.size(); ++i) {
      samples[range.begin + i].reference_logprobs = std::move(timed.value[i]);
    }
  }
  ExcludeFailed(context, *stats);
  return absl::OkStatus();
}

absl::StatusOr<rein::v1::TrainResponse> TrainOnRanks(const StageContext& context,
                                                     uint64_t iteration, size_t items,
                                                     const rein::v1::HyperParameters& overrides,
                                                     const FillTrainRequest& fill) {
  std::vector<Worker> ranks = context.registry->Active(rein::v1::ROLE_LEARNER);
  RETURN_IF_ERROR(RequireWorkers(context, ranks, rein::v1::ROLE_LEARNER));
  if (items % ranks.size() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(items, " sequences do not split over ",
                                                      ranks.size(), " learner ranks"));
  }
  const size_t per_rank = items / ranks.size();
  std::vector<absl::StatusOr<rein::v1::TrainResponse>> replies(ranks.size());
  std::vector<std::thread> threads;
  for (size_t r = 0; r < ranks.size(); ++r) {
    threads.emplace_back([&, r] {
      rein::v1::TrainRequest request;
      request.set_iteration(iteration);
      *request.mutable_overrides() = overrides;
      fill(Range{r * per_rank, (r + 1) * per_rank}, request);
      rein::v1::TrainResponse response;
      absl::Status status = CallWorker<rein::v1::Learner>(
          context, ranks[r], "Learner/Train", &rein::v1::Learner::Stub::Train, request, &response);
      replies[r] = status.ok() ? absl::StatusOr<rein::v1::TrainResponse>(std::move(response))
                               : absl::StatusOr<rein::v1::TrainResponse>(status);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& reply : replies) RETURN_IF_ERROR(reply.status());
  return *std::move(replies.front());
}

absl::StatusOr<rein::v1::TrainResponse> TrainStage(const StageContext& context,
                                                   uint64_t iteration,
                                                   const std::vector<Sample>& samples,
                                                   const rein::v1::HyperParameters& overrides) {
  return TrainOnRanks(context, iteration, samples.size(), overrides,
                      [&](Range range, rein::v1::TrainRequest& request) {
                        for (size_t i = range.begin; i < range.end; ++i) {
                          const Sample& sample = samples[i];
                          rein::v1::Experience* experience =
                              request.mutable_experiences()->add_experiences();
                          FillSequence(sample, experience->mutable_sequence());
                          experience->mutable_behaviour_logprobs()->Add(
                              sample.behaviour_logprobs.begin(), sample.behaviour_logprobs.end());
                          experience->mutable_reference_logprobs()->Add(
                              sample.reference_logprobs.begin(), sample.reference_logprobs.end());
                          experience->set_reward(sample.reward);
                          experience->set_policy_version(sample.policy_version);
                          experience->set_group_id(sample.prompt_id);
                        }
                      });
}

absl::StatusOr<rein::v1::SaveCheckpointResponse> SaveCheckpointStage(const StageContext& context,
                                                                      const std::string& directory,
                                                                      bool every_rank) {
  std::vector<Worker> ranks = context.registry->Active(rein::v1::ROLE_LEARNER);
  RETURN_IF_ERROR(RequireWorkers(context, ranks, rein::v1::ROLE_LEARNER));
  if (!every_rank) ranks.resize(1);
  rein::v1::SaveCheckpointRequest request;
  request.set_directory(directory);
  std::vector<rein::v1::SaveCheckpointResponse> responses(ranks.size());
  std::vector<absl::Status> statuses(ranks.size());
  std::vector<std::thread> threads;
  for (size_t r = 0; r < ranks.size(); ++r) {
    threads.emplace_back([&, r] {
      statuses[r] = CallWorker<rein::v1::Learner>(context, ranks[r], "Learner/SaveCheckpoint",
                                                  &rein::v1::Learner::Stub::SaveCheckpoint,
                                                  request, &responses[r]);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : statuses) RETURN_IF_ERROR(status);
  return responses.front();
}

namespace {

// Takes rollout replicas that do not answer a health check out of the run; true if any.
bool ExcludeDeadRollouts(const StageContext& context) {
  bool excluded = false;
  for (const Worker& rollout : context.registry->Active(rein::v1::ROLE_ROLLOUT)) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        context.clients->Channel(rollout.address);
    absl::Status health =
        channel.ok() ? rpc::CheckHealth(**channel, context.clients->options(), "", absl::Seconds(5))
                     : channel.status();
    if (!health.ok()) {
      REIN_LOG(WARNING, "coordinator") << rollout.id << " (" << rollout.address
                                       << ") is not serving, taking it out of the run: " << health;
      context.registry->Exclude(rollout.id);
      excluded = true;
    }
  }
  return excluded;
}

absl::StatusOr<rein::v1::PushWeightsResponse> PushToActiveRollouts(const StageContext& context,
                                                                   const Worker& learner) {
  rein::v1::PushWeightsRequest request;
  for (const Worker& rollout : context.registry->Active(rein::v1::ROLE_ROLLOUT)) {
    request.add_rollout_addresses(rollout.address);
  }
  if (request.rollout_addresses().empty()) {
    return absl::UnavailableError("no rollout replica left to push the weights to");
  }
  rein::v1::PushWeightsResponse response;
  RETURN_IF_ERROR(CallWorker<rein::v1::Learner>(context, learner, "Learner/PushWeights",
                                                &rein::v1::Learner::Stub::PushWeights, request,
                                                &response));
  return response;
}

}  // namespace

absl::StatusOr<rein::v1::PushWeightsResponse> PushWeightsStage(const StageContext& context) {
  std::vector<Worker> ranks = context.registry->Active(rein::v1::ROLE_LEARNER);
  RETURN_IF_ERROR(RequireWorkers(context, ranks, rein::v1::ROLE_LEARNER));
  absl::StatusOr<rein::v1::PushWeightsResponse> pushed = PushToActiveRollouts(context, ranks.front());
  // A replica that died since the last stage fails the whole push; without it, the push can
  // succeed (pushes are idempotent per version, so replicas already updated are unharmed).
  if (!pushed.ok() && ExcludeDeadRollouts(context)) {
    pushed = PushToActiveRollouts(context, ranks.front());
  }
  return pushed;
}

}  // namespace rein::coordinator
