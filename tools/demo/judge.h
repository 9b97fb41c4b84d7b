// `rein-demo judge`: an AI judge that annotates through rein-feedback's HTTP API like any
// annotator. Each shown pair is scored by the reward service (rein.v1.Reward/Score over gRPC)
// and the higher-scored response is submitted (tie when the scores are equal).
//
// Sequences are built as the reward-model learner builds its training pairs
// (common/data/training_examples.cc): prompt = Encode(prompt text), response = Encode(response
// text) + EOS, so the reward model scores what it was trained on. Items with chat context are
// refused (this judge reads plain prompts, as the quickstart's `prompt_format: text`).
//
// Its annotator should be created synthetic (reinctl feedback invite --synthetic, or
// CreateAnnotator{synthetic: true}): its judgements are then marked synthetic and exports leave
// them out unless include_synthetic.
//
// Thread safety: plain function.
#ifndef REIN_TOOLS_DEMO_JUDGE_H_
#define REIN_TOOLS_DEMO_JUDGE_H_

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rein::demo {

struct JudgeOptions {
  std::string feedback_http;   // Required: rein-feedback's HTTP "host:port" or base URL.
  std::string feedback_ca;     // CA bundle for an HTTPS rein-feedback; empty = the system's.
  std::string token;           // Required: the judge's annotator token.
  std::string campaign;        // Required: campaign id or name.
  std::string reward_address;  // Required: a rein-reward "host:port".
  std::string tokenizer_dir;   // Required: the reward model's tokenizer folder.
  int limit = 0;               // Most judgements; 0 = until nothing is left. Default: 0.
  absl::Duration score_deadline = absl::Seconds(30);  // per Score call. Default: 30 s.
};

struct JudgeReport {
  int submitted = 0;
  int ties = 0;
  bool paused = false;
  bool finished = false;  // nothing was left for the judge
};

absl::StatusOr<JudgeReport> RunJudge(const JudgeOptions& options, std::ostream& progress);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_JUDGE_H_
