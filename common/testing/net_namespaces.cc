#include "common/testing/net_namespaces.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace rein::testing {
namespace {

int Sh(const std::string& command) { return std::system(command.c_str()); }

}  // namespace

absl::StatusOr<std::unique_ptr<NamespacePair>> NamespacePair::Create(const std::string& prefix,
                                                                     const std::string& subnet) {
  std::unique_ptr<NamespacePair> pair(new NamespacePair());
  const std::string tag = std::to_string(getpid() % 100000);
  // Interface names are at most 15 characters: "rv", the subnet's last 4 digits, a|b, the tag.
  std::string digits = absl::StrReplaceAll(subnet, {{".", ""}});
  if (digits.size() > 4) digits = digits.substr(digits.size() - 4);
  for (int i = 0; i < 2; ++i) {
    pair->names_[i] = absl::StrCat(prefix, "-", i == 0 ? "a-" : "b-", tag);
    pair->devices_[i] = absl::StrCat("rv", digits, i == 0 ? "a" : "b", tag);
    pair->addresses_[i] = absl::StrCat(subnet, ".", i + 1);
  }
  if (Sh("ip netns add " + pair->names_[0] + " 2>/dev/null") != 0) {
    pair->names_[0].clear();  // nothing to remove
    return absl::FailedPreconditionError(
        "cannot create a network namespace (`ip netns add` failed: not root, no iproute2, or "
        "no CAP_SYS_ADMIN in this container)");
  }
  const std::string& a = pair->names_[0];
  const std::string& b = pair->names_[1];
  const std::string& va = pair->devices_[0];
  const std::string& vb = pair->devices_[1];
  const std::vector<std::string> steps = {
      "ip netns add " + b,
      "ip link add " + va + " type veth peer name " + vb,
      "ip link set " + va + " netns " + a,
      "ip link set " + vb + " netns " + b,
      "ip -n " + a + " addr add " + pair->addresses_[0] + "/24 dev " + va,
      "ip -n " + b + " addr add " + pair->addresses_[1] + "/24 dev " + vb,
      "ip -n " + a + " link set lo up",
      "ip -n " + b + " link set lo up",
      "ip -n " + a + " link set " + va + " up",
      "ip -n " + b + " link set " + vb + " up",
  };
  for (const std::string& step : steps) {
    if (Sh(step) != 0) return absl::InternalError(absl::StrCat("`", step, "` failed"));
  }
  return pair;
}

NamespacePair::~NamespacePair() {
  // Deleting a namespace removes the veth end inside it, and with it the pair.
  for (const std::string& name : names_) {
    if (!name.empty()) Sh("ip netns del " + name + " 2>/dev/null");
  }
}

std::vector<std::string> NamespacePair::Exec(int i, std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"/usr/sbin/ip", "netns", "exec", names_[i]});
  return argv;
}

}  // namespace rein::testing
