// How reinctl shows a run: one progress line, e.g.
//   RUNNING  iter 12/100  reward 0.531  KL 0.0123  1234 tok/s  ETA 1m20s  policy v12
// and for a run with rounds, where the round is:
//   RUNNING  round 2/4 collecting 140/200 judgements (23h58m left)  RM v1 acc 0.812  iter 30/120
//     versions judged (Elo, 95% interval): v0 +0 [+0, +0] (212 games) v30 +85 [+41, +131] ...
#ifndef REIN_SERVICES_REINCTL_RUN_STATUS_FORMAT_H_
#define REIN_SERVICES_REINCTL_RUN_STATUS_FORMAT_H_

#include <optional>
#include <string>

#include "rein/v1/coordinator.pb.h"

namespace rein::reinctl {

// `with_ratings`: add the round's Elo table as a second line (a one-line progress display
// leaves it out).
std::string FormatRunStatus(const rein::v1::RunStatus& status, bool with_ratings = true);

// WAITING_FOR_WORKERS, RUNNING, ... (the enum name without its prefix).
std::string RunStateName(rein::v1::RunState state);

bool RunEnded(rein::v1::RunState state);

// The final status the coordinator left in `run_dir`/status.json when the run ended; nullopt
// when there is none (the run has not ended) or it does not parse.
std::optional<rein::v1::RunStatus> ReadFinalStatus(const std::string& run_dir);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_RUN_STATUS_FORMAT_H_
