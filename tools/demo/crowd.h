// `rein-demo crowd`: the quickstart's human-feedback step, through rein-feedback. It
//   1. creates a pairwise campaign (admin gRPC) — or, with `join`, waits for a campaign that a
//      run with rounds creates and fills, and adds only the gold items to it,
//   2. adds `items` pairs from a PairSource as items with provenance (model, seed, sampling,
//      synthetic), plus about gold_rate x items gold items: pairs whose hidden utilities differ
//      by at least kGoldGap, answered with the higher-utility response,
//      A flag campaign (question "flag", or a joined red-team campaign) is judged per response:
//      the raters flag the ones that hold a harm word (world.h), with the usual raters' errors,
//   3. invites `annotators` synthetic annotators: one "spammer" who answers at random (gold
//      accuracy pauses it and exports leave it out), one careful rater (Bradley-Terry
//      temperature kCarefulTemperature), the rest the scripted Annotator's usual noise,
//   4. runs them concurrently, one thread and one keep-alive HTTP connection each, as real
//      clients of the annotator API (http_annotator.h), judging what they are shown in the
//      order shown with the hidden utility plus their noise,
//   5. prints what each did and the campaign's status (alpha, left-win rate, gold accuracy).
// Optionally it goes on with the same pair stream to write held-out preference pairs labelled
// directly by the scripted Annotator, as `rein-demo annotate` does: evaluation data, which
// never goes through the campaign.
//
// The responses are the campaign's to judge: this code reads the hidden utility only to play
// the annotators and to pick gold items, never to filter or reorder regular items.
//
// Thread safety: RunCrowd is a plain function; it joins every thread it starts.
#ifndef REIN_TOOLS_DEMO_CROWD_H_
#define REIN_TOOLS_DEMO_CROWD_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rein/v1/feedback.pb.h"
#include "tools/demo/pair_source.h"

namespace rein::demo {

// Smallest hidden-utility gap of a gold pair: the usual annotator gets it right 99% of the time.
inline constexpr double kGoldGap = 3;
// Bradley-Terry temperature of the careful annotator (the usual one has kAnnotatorTemperature).
inline constexpr double kCarefulTemperature = 0.35;

struct CrowdOptions {
  std::string feedback_grpc;     // Required: rein-feedback's gRPC "host:port".
  std::string feedback_http;     // Required: its HTTP "host:port".
  std::string admin_token_file;  // Required: the admin token (first line).
  std::string campaign;          // Required: the new campaign's name.
  int items = 1000;              // Regular items. Default: 1000.
  double gold_rate = 0.1;        // In [0, 1); also the campaign's gold_rate. Default: 0.1.
  int overlap = 3;               // Judgements per regular item. Default: 3.
  // Simulated annotators, >= max(3, overlap + 1) so that the items are finished even after
  // the spammer is paused. Default: 5.
  int annotators = 5;
  uint64_t seed = 1;             // Annotator noise and held-out labels. Default: 1.
  // Held-out pairs labelled by the scripted Annotator, written to heldout_out as
  // {"prompt", "chosen", "rejected"} lines. Default: 0 (none).
  int heldout_pairs = 0;
  std::string heldout_out;
  // A person to invite (not synthetic), whose invite link is printed; empty = none.
  std::string guest;
  // Where to write the run's figures as JSON; empty = nowhere.
  std::string summary_path;
  // Join a campaign someone else creates and fills (a run with rounds: the coordinator posts
  // each round's pairs): wait up to join_timeout until `campaign` exists with at least `items`
  // regular items, add only the gold items, then judge. Default: off.
  bool join = false;
  // The question of a campaign it creates: "pairwise" (which response is better) or "flag"
  // (approve or flag each response; the raters flag the responses that hold a harm word,
  // world.h). A joined campaign has its own. Default: pairwise.
  std::string question = "pairwise";
  double join_timeout_seconds = 1800;
};

struct SimulatedAnnotator {
  std::string name;
  std::string kind;  // "usual", "careful" or "spammer"
  int submitted = 0;
  int flagged = 0;  // responses flagged (flag campaigns)
  int throttled = 0;
  bool paused = false;
};

struct CrowdReport {
  std::string campaign_id;
  int items = 0;
  int gold_items = 0;
  int pairs_skipped = 0;  // sampled pairs with a blank response or two equal ones
  int heldout_pairs = 0;
  std::vector<SimulatedAnnotator> annotators;
  rein::v1::CampaignStatus status;  // after every annotator stopped
  std::string guest_invite_url;
};

absl::StatusOr<CrowdReport> RunCrowd(const CrowdOptions& options, PairSource& source,
                                     std::ostream& progress);

}  // namespace rein::demo

#endif  // REIN_TOOLS_DEMO_CROWD_H_
