// reinctl's control of a running job, through the coordinator's control plane:
//   reinctl status [--watch]              progress line (iteration/total, reward, KL, tok/s, ETA)
//   reinctl pause | resume | stop
//   reinctl checkpoint [--dir DIR]        write a checkpoint between iterations now
//   reinctl set --kl-coef X --lr Y        change live-tunable parameters from the next iteration
// Each finds the coordinator through --coordinator host:port, or the run folder that
// `reinctl up` wrote (--run DIR, default runs/latest) which holds coordinator.address.
//
// And, with no coordinator needed (export_command.cc):
//   reinctl export --checkpoint DIR --out DIR   the policy of a checkpoint as a standalone HF
//                                               folder (from <dir>/learner/policy or
//                                               <dir>/policy), copied under a temporary name
//                                               and renamed into place; never overwrites.
//                                               A learner.lora policy exports merged, or with
//                                               --lora-adapter as PEFT's adapter folder.
#ifndef REIN_SERVICES_REINCTL_RUN_COMMAND_H_
#define REIN_SERVICES_REINCTL_RUN_COMMAND_H_

#include <CLI/CLI.hpp>

namespace rein::reinctl {

void AddRunCommands(CLI::App& app);
void AddExportCommand(CLI::App& app);

}  // namespace rein::reinctl

#endif  // REIN_SERVICES_REINCTL_RUN_COMMAND_H_
