// rein-dist-probe: one rank of a Gloo group formed the way learners form theirs (the launcher's
// environment, or --coordinator), which all-reduces a vector and prints "checksum <sum>".
// For the two-host test (network namespaces) and for checking a cluster's wiring by hand:
//   RANK=0 WORLD_SIZE=2 MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 rein-dist-probe
#include <ATen/ops/full.h>

#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "common/dist/rendezvous.h"
#include "common/process/process_setup.h"

ABSL_FLAG(std::string, coordinator, "", "Coordinator host:port (when MASTER_ADDR is unset).");
ABSL_FLAG(int, world_size, 0, "Ranks; 0 takes WORLD_SIZE.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(60), "Group formation and collective timeout.");

int main(int argc, char** argv) {
  rein::ParseFlags(argc, argv,
                   "rein-dist-probe: one rank of a Gloo group from the launcher's environment; prints a checksum.\n  RANK=0 WORLD_SIZE=2 MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 rein-dist-probe");
  auto env = rein::dist::ReadLauncherEnv();
  if (!env.ok()) {
    std::cerr << env.status() << "\n";
    return 2;
  }
  rein::dist::RendezvousOptions flags;
  flags.world_size = absl::GetFlag(FLAGS_world_size) > 0 ? absl::GetFlag(FLAGS_world_size)
                                                         : env->world_size.value_or(1);
  flags.coordinator = absl::GetFlag(FLAGS_coordinator);
  flags.timeout = absl::GetFlag(FLAGS_timeout);
  auto options = rein::dist::ResolveRendezvous(flags, *env);
  if (!options.ok()) {
    std::cerr << options.status() << "\n";
    return 2;
  }
  auto comm = rein::dist::CreateCommunicator(*options);
  if (!comm.ok()) {
    std::cerr << comm.status() << "\n";
    return 1;
  }
  at::Tensor t = at::full({1 << 20}, static_cast<double>(options->rank + 1), at::kFloat);
  if (absl::Status s = (*comm)->AllReduce(t, rein::dist::ReduceOp::kSum); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  std::printf("checksum %.1f\n", t.sum().item<double>());
  return 0;
}
