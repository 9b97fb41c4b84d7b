#include "services/reference/reference_service.h"

#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metrics/families.h"
#include "common/rpc/caller_waits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/worker/token_sequences.h"

namespace rein::reference {

struct ReferenceService::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : scored_sequences(metrics::AddCounter(registry, "rein_reference_scored_sequences_total",
                                             "Sequences given reference log-probs.")),
        scored_tokens(metrics::AddCounter(registry, "rein_reference_scored_tokens_total",
                                          "Response tokens given a reference log-prob.")),
        logprobs_seconds(
            metrics::AddHistogram(registry, "rein_reference_logprobs_seconds",
                                  "Wall time of successful LogProbs calls, in seconds.",
                                  prometheus::Histogram::BucketBoundaries{
                                      0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60})),
        requests_in_flight(metrics::AddGauge(registry, "rein_reference_requests_in_flight",
                                             "LogProbs calls running now.")) {}

  prometheus::Counter& scored_sequences;
  prometheus::Counter& scored_tokens;
  prometheus::Histogram& logprobs_seconds;
  prometheus::Gauge& requests_in_flight;
};

absl::StatusOr<std::unique_ptr<ReferenceService>> ReferenceService::Create(
    std::unique_ptr<model::CausalLM> model, const ReferenceServiceOptions& options,
    prometheus::Registry& registry) {
  if (model == nullptr || !model->has_lm_head()) {
    return absl::InvalidArgumentError("the reference model needs an LM head");
  }
  return std::unique_ptr<ReferenceService>(
      new ReferenceService(std::move(model), options, std::make_unique<Metrics>(registry)));
}

ReferenceService::ReferenceService(std::unique_ptr<model::CausalLM> model,
                                   const ReferenceServiceOptions& options,
                                   std::unique_ptr<Metrics> metrics)
    : model_(std::move(model)), options_(options), metrics_(std::move(metrics)) {}

ReferenceService::~ReferenceService() = default;

absl::StatusOr<rein::v1::LogProbsResponse> ReferenceService::RunLogProbs(
    const rein::v1::LogProbsRequest& request, const std::function<absl::Status()>& keep_going) const {
  metrics_->requests_in_flight.Increment();
  struct Done {
    prometheus::Gauge& gauge;
    ~Done() { gauge.Decrement(); }
  } done{metrics_->requests_in_flight};
  const absl::Time start = absl::Now();

  worker::SequenceLimits limits;
  limits.vocab_size = model_->config().vocab_size;
  limits.max_length = model_->config().max_position_embeddings;
  limits.require_prompt = true;
  limits.max_sequences = options_.max_sequences_per_call;
  RETURN_IF_ERROR(worker::ValidateSequences(request.sequences(), limits));

  std::vector<std::vector<int64_t>> full;
  full.reserve(static_cast<size_t>(request.sequences_size()));
  for (const rein::v1::TokenSequence& s : request.sequences())
    full.push_back(worker::FullSequence(s));
  model::ScoringOptions scoring = options_.scoring;
  scoring.keep_going = keep_going;
  ASSIGN_OR_RETURN(std::vector<std::vector<float>> logprobs,
                   model::ScoreSequences(*model_, full, scoring));

  rein::v1::LogProbsResponse response;
  int64_t tokens = 0;
  for (int i = 0; i < request.sequences_size(); ++i) {
    const rein::v1::TokenSequence& s = request.sequences(i);
    // logprobs[i][t] = log p(full[t + 1] | full[..t]): the response's are the last ones.
    const std::vector<float>& all = logprobs[static_cast<size_t>(i)];
    const size_t n = static_cast<size_t>(s.response_ids_size());
    if (all.size() < n) {
      return absl::InternalError(absl::StrCat("sequence_id ", s.sequence_id(), ": ", all.size(),
                                              " log-probs for ", n, " response tokens"));
    }
    rein::v1::SequenceLogProbs* out = response.add_sequences();
    out->set_sequence_id(s.sequence_id());
    out->mutable_logprobs()->Add(all.end() - static_cast<std::ptrdiff_t>(n), all.end());
    tokens += static_cast<int64_t>(n);
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  auto& stats = *response.mutable_stats()->mutable_values();
  stats["time/logprobs_seconds"] = seconds;
  stats["tokens/scored"] = static_cast<double>(tokens);
  metrics_->scored_sequences.Increment(request.sequences_size());
  metrics_->scored_tokens.Increment(static_cast<double>(tokens));
  metrics_->logprobs_seconds.Observe(seconds);
  return response;
}

grpc::Status ReferenceService::LogProbs(grpc::ServerContext* context,
                                        const rein::v1::LogProbsRequest* request,
                                        rein::v1::LogProbsResponse* response) {
  absl::StatusOr<rein::v1::LogProbsResponse> result =
      RunLogProbs(*request, rpc::CallerWaitsCheck(context));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace rein::reference
