#include "services/rollout/policy_snapshots.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace rein::rollout {
namespace {

// `path` with links and dots resolved; the parts that do not exist yet are kept as written.
std::string Canonical(const std::string& path) {
  std::error_code error;
  std::filesystem::path resolved = std::filesystem::weakly_canonical(path, error);
  if (error) return std::filesystem::absolute(path).lexically_normal().string();
  return resolved.string();
}

bool IsUnder(const std::string& path, const std::string& root) {
  if (path == root) return true;
  const std::string prefix = absl::EndsWith(root, "/") ? root : root + "/";
  return absl::StartsWith(path, prefix);
}

}  // namespace

absl::StatusOr<std::string> PolicySnapshots::Resolve(const std::string& dir) const {
  const std::string resolved = Canonical(dir);
  for (const std::string& root : options_.allowed_roots) {
    if (!root.empty() && IsUnder(resolved, Canonical(root))) return resolved;
  }
  return absl::PermissionDeniedError(
      absl::StrCat("policy_dir ", dir,
                   " is outside the folders this replica may load earlier policies "
                   "from (model.policy and --snapshot_root)"));
}

absl::StatusOr<std::shared_ptr<PolicySnapshots::Snapshot>> PolicySnapshots::Get(
    const std::string& dir) {
  ASSIGN_OR_RETURN(const std::string key, Resolve(dir));
  absl::MutexLock lock(&mu_);
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->first == key) {
      cache_.splice(cache_.begin(), cache_, it);
      return cache_.front().second;
    }
  }
  if (!options_.loader) return absl::FailedPreconditionError("no snapshot loader");
  auto snapshot = std::make_shared<Snapshot>();
  ASSIGN_OR_RETURN(snapshot->model, options_.loader(key));
  if (options_.vocab_size > 0 && snapshot->model->config().vocab_size != options_.vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy_dir ", dir, ": vocabulary of ", snapshot->model->config().vocab_size,
                     " tokens, this replica's policy has ", options_.vocab_size));
  }
  ASSIGN_OR_RETURN(snapshot->generator,
                   model::Generator::Create(*snapshot->model, options_.generator));
  REIN_LOG(INFO, "rollout") << "loaded the earlier policy " << key;
  cache_.emplace_front(key, snapshot);
  while (cache_.size() > options_.max_snapshots) cache_.pop_back();
  return snapshot;
}

size_t PolicySnapshots::loaded() const {
  absl::MutexLock lock(&mu_);
  return cache_.size();
}

}  // namespace rein::rollout
