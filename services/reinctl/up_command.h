// reinctl up: the whole cluster of one run on this machine, on 127.0.0.1 with free ports.
//
//   reinctl up --config run.yaml [--run-dir DIR] [--resume CHECKPOINT_DIR]
//
// Starts rein-coordinator, then the configured replicas of rein-rollout, rein-reward,
// rein-reference and the learner ranks (only the learner for sft and reward-model), each
// logging to <run dir>/logs/<name>.log; shows a live progress line until the run ends; then
// stops every process and exits with the run's outcome (0 finished, 1 failed).
// Ctrl-C (or SIGTERM) stops the run after its current iteration: the coordinator writes a
// final checkpoint, then the workers are stopped. A second Ctrl-C kills everything at once.
//
// The run folder (default <run.output_dir>/<run.name>, with -2, -3, ... appended rather than
// reusing an existing one) holds config.yaml (the resolved config), coordinator.address (for
// reinctl status/pause/...), pids, prometheus_targets.json (every /metrics address, for
// deploy/prometheus), logs/, stats.jsonl and checkpoints/; <run.output_dir>/latest links to it.
#ifndef REIN_SERVICES_REINCTL_UP_COMMAND_H_
#define REIN_SERVICES_REINCTL_UP_COMMAND_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

void AddUpCommand(CLI::App& app);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_UP_COMMAND_H_
