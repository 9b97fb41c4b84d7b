#include "services/rollout/policy_snapshots.h"

#include "absl/strings/str_cat.h"
#include "common/files/confined_path.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace rein::rollout {

absl::StatusOr<std::string> PolicySnapshots::Resolve(const std::string& dir) const {
  absl::StatusOr<std::string> resolved =
      files::ResolveReadableDir("policy_dir", dir, options_.allowed_roots);
  if (resolved.status().code() == absl::StatusCode::kPermissionDenied) {
    return absl::PermissionDeniedError(
        absl::StrCat(resolved.status().message(),
                     "; a replica loads earlier policies from model.policy and --snapshot_root "
                     "only"));
  }
  return resolved;
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
