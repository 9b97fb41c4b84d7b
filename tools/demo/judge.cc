#include "tools/demo/judge.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/tokenizer/tokenizer.h"
#include "rein/v1/reward.grpc.pb.h"
#include "tools/demo/http_annotator.h"

namespace rein::demo {
namespace {

absl::Status CheckOptions(const JudgeOptions& o) {
  if (o.feedback_http.empty()) return absl::InvalidArgumentError("--feedback-http is required");
  if (o.token.empty()) return absl::InvalidArgumentError("--token is required");
  if (o.campaign.empty()) return absl::InvalidArgumentError("--campaign is required");
  if (o.reward_address.empty()) return absl::InvalidArgumentError("--reward is required");
  if (o.tokenizer_dir.empty()) return absl::InvalidArgumentError("--tokenizer is required");
  if (o.limit < 0) return absl::InvalidArgumentError("--limit must be >= 0");
  return absl::OkStatus();
}

// Scores the shown responses of one task; one reward per response, in shown order.
class PairScorer {
 public:
  PairScorer(const tokenizer::Tokenizer& tokenizer, tokenizer::TokenId eos,
             std::shared_ptr<grpc::Channel> channel, const JudgeOptions& options)
      : tokenizer_(tokenizer),
        eos_(eos),
        stub_(rein::v1::Reward::NewStub(channel)),
        address_(options.reward_address),
        deadline_(options.score_deadline) {}

  absl::StatusOr<std::vector<float>> Score(const ShownTask& task) const {
    if (task.has_context) {
      return absl::FailedPreconditionError(
          "the item has chat context; the judge scores plain prompts only");
    }
    ASSIGN_OR_RETURN(std::vector<tokenizer::TokenId> prompt, tokenizer_.Encode(task.prompt));
    rein::v1::ScoreRequest request;
    for (size_t i = 0; i < task.responses.size(); ++i) {
      ASSIGN_OR_RETURN(std::vector<tokenizer::TokenId> response,
                       tokenizer_.Encode(task.responses[i]));
      response.push_back(eos_);  // as the learner ends every preference response
      rein::v1::TokenSequence* s = request.add_sequences();
      s->set_sequence_id(i);
      s->mutable_prompt_ids()->Add(prompt.begin(), prompt.end());
      s->mutable_response_ids()->Add(response.begin(), response.end());
    }
    rein::v1::ScoreResponse reply;
    grpc::Status status =
        stub_->Score(rpc::NewCallContext(client_, deadline_).get(), request, &reply);
    if (!status.ok()) {
      return FromGrpcStatus(status, absl::StrCat("rein.v1.Reward/Score to ", address_));
    }
    if (reply.rewards_size() != request.sequences_size()) {
      return absl::InternalError(absl::StrCat("rein.v1.Reward/Score to ", address_, " returned ",
                                              reply.rewards_size(), " rewards for ",
                                              request.sequences_size(), " sequences"));
    }
    std::vector<float> rewards(task.responses.size());
    for (const rein::v1::SequenceReward& r : reply.rewards()) {
      if (r.sequence_id() >= rewards.size()) {
        return absl::InternalError(absl::StrCat("rein.v1.Reward/Score to ", address_,
                                                " returned unknown sequence_id ", r.sequence_id()));
      }
      rewards[r.sequence_id()] = r.reward();
    }
    return rewards;
  }

 private:
  const tokenizer::Tokenizer& tokenizer_;
  const tokenizer::TokenId eos_;
  const std::unique_ptr<rein::v1::Reward::Stub> stub_;
  const std::string address_;
  const absl::Duration deadline_;
  const rpc::ClientOptions client_;  // no token: the quickstart's reward service has none
};

}  // namespace

absl::StatusOr<JudgeReport> RunJudge(const JudgeOptions& o, std::ostream& progress) {
  RETURN_IF_ERROR(CheckOptions(o));
  absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> tok =
      tokenizer::Tokenizer::FromDirectory(o.tokenizer_dir);
  if (!tok.ok()) {
    return absl::Status(tok.status().code(), absl::StrCat("cannot load the tokenizer from ",
                                                          o.tokenizer_dir, ": ",
                                                          tok.status().message()));
  }
  const std::optional<tokenizer::TokenId> eos = (*tok)->special_ids().eos;
  if (!eos.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the tokenizer in ", o.tokenizer_dir, " names no eos_token (tokenizer_config.json)"));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                   rpc::CreateChannel(o.reward_address, rpc::ClientOptions{}));
  const PairScorer scorer(**tok, *eos, channel, o);

  JudgeReport report;
  HttpAnnotatorOptions http;
  http.http_address = o.feedback_http;
  http.ca_file = o.feedback_ca;
  http.token = o.token;
  http.campaign = o.campaign;
  http.limit = o.limit;
  // The higher-scored shown response wins; the time spent is the scoring's.
  auto judge = [&](const ShownTask& task) -> absl::StatusOr<Verdict> {
    if (task.responses.size() != 2) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the judge answers pairwise items; this one shows ", task.responses.size(),
          " responses"));
    }
    const absl::Time t = absl::Now();
    ASSIGN_OR_RETURN(std::vector<float> r, scorer.Score(task));
    Verdict v;
    v.pairwise = r[0] > r[1] ? Pairwise::kA : r[1] > r[0] ? Pairwise::kB : Pairwise::kTie;
    report.ties += r[0] == r[1];
    v.seconds_spent = absl::ToDoubleSeconds(absl::Now() - t);
    return v;
  };
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(AnnotatorRun run, RunHttpAnnotator(http, judge));
  report.submitted = run.submitted;
  report.paused = run.paused;
  report.finished = run.finished;
  progress << "judge: " << report.submitted << " judgements (" << report.ties << " ties) in "
           << absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))
           << (report.paused ? "; paused by rein-feedback" : "")
           << (report.finished ? "; nothing left to judge" : "") << std::endl;
  return report;
}

}  // namespace rein::demo
