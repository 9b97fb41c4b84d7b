// Earlier versions of the policy that a rollout replica samples from on request
// (GenerateRequest.policy_dir): in a round of feedback, responses of the current policy are
// judged against those of the previous round's policy and of the SFT policy, which live on disk
// as checkpoint folders.
//
// A snapshot is loaded on first use (model and its own KV cache) and kept; beyond
// max_snapshots the least recently used one is dropped (a Generate still using it keeps it
// alive until it returns). Only folders the replica was told to trust may be loaded: a
// coordinator token must not turn into "read any model folder on this host".
//
// Thread safety: Get is thread safe; loads are serialised.
#ifndef REIN_SERVICES_ROLLOUT_POLICY_SNAPSHOTS_H_
#define REIN_SERVICES_ROLLOUT_POLICY_SNAPSHOTS_H_

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/model/causal_lm.h"
#include "common/model/generator.h"

namespace rein::rollout {

// Reads a policy folder (LM head), as rein-rollout loads model.policy.
using SnapshotLoader =
    std::function<absl::StatusOr<std::unique_ptr<model::CausalLM>>(const std::string& dir)>;

struct SnapshotOptions {
  // Folders that may be loaded, with everything under them (common/files/confined_path.h;
  // relative folders are taken against the first). Empty = snapshots are refused.
  std::vector<std::string> allowed_roots;
  // Snapshots kept loaded. Default: 2 (the previous round's policy and the SFT policy).
  size_t max_snapshots = 2;
  // Each snapshot's KV cache, as the replica's own.
  model::GeneratorOptions generator;
  // The vocabulary every snapshot must share with the replica's policy (0 = unchecked).
  int64_t vocab_size = 0;
  SnapshotLoader loader;
};

class PolicySnapshots {
 public:
  struct Snapshot {
    std::unique_ptr<model::CausalLM> model;
    std::unique_ptr<model::Generator> generator;  // refers to model: declared after it
  };

  explicit PolicySnapshots(SnapshotOptions options) : options_(std::move(options)) {}

  // The snapshot of `dir`, loaded now if it is not yet. PERMISSION_DENIED for a folder outside
  // the allowed roots (after resolving symbolic links and ".."); NOT_FOUND for a missing folder;
  // INVALID_ARGUMENT for a model with another vocabulary, a special file or a dangling link;
  // the loader's errors otherwise.
  absl::StatusOr<std::shared_ptr<Snapshot>> Get(const std::string& dir) ABSL_LOCKS_EXCLUDED(mu_);

  size_t loaded() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::StatusOr<std::string> Resolve(const std::string& dir) const;

  const SnapshotOptions options_;
  mutable absl::Mutex mu_;
  // Most recently used first; keyed by the resolved folder.
  std::list<std::pair<std::string, std::shared_ptr<Snapshot>>> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::rollout

#endif  // REIN_SERVICES_ROLLOUT_POLICY_SNAPSHOTS_H_
