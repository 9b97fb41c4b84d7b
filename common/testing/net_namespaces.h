// Two "machines" for cross-host tests: network namespaces joined by a veth pair, loopback up
// in each, <subnet>.1 in the first and <subnet>.2 in the second, removed again on destruction.
// Needs root (CAP_SYS_ADMIN) and iproute2.
//
//   auto pair = NamespacePair::Create("rein-mh", "10.79.0");
//   if (!pair.ok()) { WARN("skipped: " << pair.status().message()); return; }
//   Subprocess::Start((*pair)->Exec(0, {binary, "--flag"}));
//
// Each test takes its own subnet (10.77.0 the data-parallel test, 10.79.0 the multi-host one),
// so tests can run side by side; names carry the pid.
#ifndef REIN_COMMON_TESTING_NET_NAMESPACES_H_
#define REIN_COMMON_TESTING_NET_NAMESPACES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rein::testing {

class NamespacePair {
 public:
  // FAILED_PRECONDITION, saying why, when namespaces cannot be made here (not root, no
  // iproute2, a container without CAP_SYS_ADMIN); INTERNAL when a later step fails.
  static absl::StatusOr<std::unique_ptr<NamespacePair>> Create(const std::string& prefix,
                                                               const std::string& subnet);
  ~NamespacePair();
  NamespacePair(const NamespacePair&) = delete;
  NamespacePair& operator=(const NamespacePair&) = delete;

  // Machine i (0 or 1): its namespace, its veth device and its address.
  const std::string& name(int i) const { return names_[i]; }
  const std::string& device(int i) const { return devices_[i]; }
  const std::string& address(int i) const { return addresses_[i]; }

  // `argv` run inside machine i: `ip netns exec <name> argv...`.
  std::vector<std::string> Exec(int i, std::vector<std::string> argv) const;

 private:
  NamespacePair() = default;
  std::string names_[2], devices_[2], addresses_[2];
};

}  // namespace rein::testing

#endif  // REIN_COMMON_TESTING_NET_NAMESPACES_H_
