// A program that annotates through rein-feedback's HTTP/JSON API exactly as a person's browser
// does, authenticated with `Authorization: Bearer <annotator token>`
// (services/feedback/http_api.md): GET /api/v1/campaigns/{campaign} (its id), then
// POST /api/v1/campaigns/{id}/next, judge the responses in the order shown,
// POST /api/v1/tasks/{lease}/submit. Used by `rein-demo crowd` (one per
// simulated annotator, each on its own thread) and `rein-demo judge` (the AI judge).
//
// The loop ends without error on 204 (nothing left for this annotator), on 403 (paused, e.g.
// by gold accuracy) and after `limit` submissions. 429 (rate limit, open-lease cap) is waited
// out with exponential back-off; any other status, an unreadable reply or a failed judgement
// ends it with an error that names the request.
//
// Thread safety: RunHttpAnnotator is reentrant; each call owns its keep-alive connection.
#ifndef REIN_TOOLS_DEMO_HTTP_ANNOTATOR_H_
#define REIN_TOOLS_DEMO_HTTP_ANNOTATOR_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rein::demo {

struct HttpAnnotatorOptions {
  // Required: rein-feedback's HTTP "host:port" (plain HTTP) or a base URL, e.g.
  // "https://feedback.example:8443".
  std::string http_address;
  // CA bundle (PEM) that an HTTPS server's certificate must chain to; empty = the system's.
  std::string ca_file;
  std::string token;         // Required: the annotator's token.
  std::string campaign;      // Required: campaign id or name.
  int limit = 0;             // Most submissions; 0 = until nothing is left. Default: 0.
  // Read/write timeout of one request. Default: 30 s.
  absl::Duration request_timeout = absl::Seconds(30);
  // Back-off after a 429: starts at initial_backoff, doubles up to max_backoff; after
  // max_throttled of back-off in a row the loop fails. Defaults: 20 ms, 1 s, 2 min.
  absl::Duration initial_backoff = absl::Milliseconds(20);
  absl::Duration max_backoff = absl::Seconds(1);
  absl::Duration max_throttled = absl::Minutes(2);
};

// One task as shown: the responses in display order (position 0 = "a", left).
struct ShownTask {
  std::string lease_id;
  std::string prompt;
  bool has_context = false;  // the item carries chat history before the responses
  std::vector<std::string> responses;
};

// A pairwise answer by shown position: kA prefers position 0 (left), kB position 1.
enum class Pairwise { kA, kB, kTie, kBothBad };

// What the API calls it: "a", "b", "tie", "both_bad".
const char* PairwiseName(Pairwise p);

// An answer and the time it took: a pairwise choice, or (a flag campaign) per shown response
// the category it is flagged for, "" when approved.
struct Verdict {
  Pairwise pairwise = Pairwise::kTie;
  std::optional<std::vector<std::string>> flags;
  double seconds_spent = 0;
};

using JudgeFn = std::function<absl::StatusOr<Verdict>(const ShownTask&)>;

struct AnnotatorRun {
  int submitted = 0;
  int throttled = 0;     // 429 replies waited out
  bool paused = false;   // ended on 403
  bool finished = false; // ended on 204
};

absl::StatusOr<AnnotatorRun> RunHttpAnnotator(const HttpAnnotatorOptions& options,
                                              const JudgeFn& judge);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_HTTP_ANNOTATOR_H_
