// RunLoop's iterations for the offline preference learners (dpo, ipo, kto): take the next
// data.train_batch_size judgements (already in the mode's shape: OfflinePreferenceView) of
// data.train, or with rounds of the round's feedback, ask the reference replicas for every
// response's log-probs, and train on them. No reward model; weights reach the rollouts only
// with rounds, before each round samples.
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/coordinator/run_loop.h"

namespace rein::coordinator {
namespace {

// The sequences whose reference log-probs an example needs: its responses and, for kto, its
// mismatched pair (the next example's response under this prompt).
struct OfflineSequences {
  std::vector<Sample> samples;
  std::vector<std::vector<size_t>> responses;  // per example: indices into samples
  std::vector<size_t> mismatched;              // kto: per example, its mismatched pair's index
};

Sample MakeSample(size_t index, const std::vector<int32_t>& prompt,
                  const std::vector<int32_t>& response) {
  Sample s;
  s.sequence_id = index;
  s.prompt_ids = prompt;
  s.response_ids = response;
  return s;
}

OfflineSequences SequencesOf(const std::vector<data::PreferenceExample>& batch, bool kto) {
  OfflineSequences out;
  for (size_t i = 0; i < batch.size(); ++i) {
    std::vector<size_t>& own = out.responses.emplace_back();
    for (const std::vector<int32_t>& response : batch[i].responses) {
      own.push_back(out.samples.size());
      out.samples.push_back(MakeSample(out.samples.size(), batch[i].prompt_ids, response));
    }
    if (kto) {
      const data::PreferenceExample& next = batch[(i + 1) % batch.size()];
      out.mismatched.push_back(out.samples.size());
      out.samples.push_back(
          MakeSample(out.samples.size(), batch[i].prompt_ids, next.responses.front()));
    }
  }
  return out;
}

double Sum(const std::vector<float>& logprobs) {
  return std::accumulate(logprobs.begin(), logprobs.end(), 0.0);
}

}  // namespace

absl::Status RunLoop::OfflinePreferenceIteration(uint64_t iteration,
                                                 const rein::v1::HyperParameters& parameters) {
  const absl::Time start = absl::Now();
  const bool kto = options_.mode == config::LearnerMode::kKto;
  const size_t n = options_.train_batch_size;
  std::vector<data::PreferenceExample> batch = Preferences()->Next(n);
  OfflineSequences sequences = SequencesOf(batch, kto);
  DispatchStats reference_stats;
  RETURN_IF_ERROR(ReferenceStage(stages_, sequences.samples, &reference_stats));
  const absl::Time referenced = absl::Now();
  metrics_.ObservePhase("reference", referenced - start);
  absl::StatusOr<rein::v1::TrainResponse> trained = TrainOnRanks(
      stages_, iteration, n, parameters, [&](Range range, rein::v1::TrainRequest& request) {
        for (size_t i = range.begin; i < range.end; ++i) {
          rein::v1::OfflinePreference* e = request.mutable_offline_preferences()->add_examples();
          for (size_t index : sequences.responses[i]) {
            const Sample& s = sequences.samples[index];
            FillSequence(s, e->add_responses());
            e->add_reference_logprobs(Sum(s.reference_logprobs));
          }
          if (kto) {
            e->set_desirable(batch[i].label.value_or(true));
            const Sample& kl = sequences.samples[sequences.mismatched[i]];
            FillSequence(kl, e->mutable_kl_response());
            e->set_kl_reference_logprob(Sum(kl.reference_logprobs));
          }
        }
      });
  RETURN_IF_ERROR(trained.status());
  const absl::Time end = absl::Now();
  metrics_.ObservePhase("train", end - referenced);
  untrained_cursor_ = DatasetCursor();
  policy_version_ = trained->policy_version();
  rein::v1::Stats stats = trained->stats();
  (*stats.mutable_values())["time/reference_seconds"] = absl::ToDoubleSeconds(referenced - start);
  (*stats.mutable_values())["time/iteration_seconds"] = absl::ToDoubleSeconds(end - start);
  Record(iteration, stats, 0);
  return absl::OkStatus();
}

}  // namespace rein::coordinator
