// Where a run's checkpoints are, for every process that resumes one. A run folder holds
// checkpoints/iter-<N>/, each complete once its coordinator.json is written (the coordinator
// writes it last), with the learner's part in iter-<N>/learner/.
//
// --resume accepts a checkpoint folder or a run folder, so a launcher that cannot know whether
// a job ran before (a requeued Slurm job, a restarted pod) always passes the run folder: its
// newest complete checkpoint, or a fresh start when it has none.
#ifndef REIN_COMMON_FILES_RUN_FOLDER_H_
#define REIN_COMMON_FILES_RUN_FOLDER_H_

#include <string>

#include "absl/status/statusor.h"

namespace rein::files {

// The file the coordinator writes last into a run checkpoint: a folder holding it is complete.
inline constexpr char kRunCheckpointMarker[] = "coordinator.json";

// The newest complete checkpoint folder under <run_dir>/checkpoints; "" if there is none.
std::string NewestCheckpoint(const std::string& run_dir);

// What a process should resume from, given --resume `path`:
//   ""                                   → "" (fresh start)
//   a checkpoint folder (coordinator.json) → that folder
//   any other existing folder (a run folder) → NewestCheckpoint(path), "" if none
// then, when not "", with "/<part>" appended where `part` is not empty (the learner asks for
// "learner"). NOT_FOUND for a path that does not exist: a typo must not start a run afresh.
absl::StatusOr<std::string> ResolveResume(const std::string& path, const std::string& part = "");

}  // namespace rein::files

#endif  // REIN_COMMON_FILES_RUN_FOLDER_H_
