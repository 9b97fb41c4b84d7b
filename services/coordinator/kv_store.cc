#include "services/coordinator/kv_store.h"

#include "absl/strings/str_cat.h"

namespace rein::coordinator {

absl::Status KvStore::Set(const std::string& key, std::string value) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("key: must be 1..", kMaxKeyBytes, " bytes"));
  }
  if (value.size() > kMaxValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("value of '", key, "': ", value.size(),
                                                   " bytes, more than ", kMaxValueBytes));
  }
  absl::MutexLock lock(&mu_);
  if (values_.size() >= kMaxKeys && values_.count(key) == 0) {
    return absl::ResourceExhaustedError(absl::StrCat("key-value store full (", kMaxKeys, " keys)"));
  }
  values_[key] = std::move(value);
  return absl::OkStatus();
}

absl::StatusOr<std::string> KvStore::Get(const std::string& key, absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  auto present = [this, &key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return values_.count(key) > 0;
  };
  if (!present()) {
    if (wait <= absl::ZeroDuration()) {
      return absl::NotFoundError(absl::StrCat("key '", key, "' is not set"));
    }
    if (!mu_.AwaitWithTimeout(absl::Condition(&present), wait)) {
      return absl::DeadlineExceededError(absl::StrCat("key '", key, "' was not set within ",
                                                      absl::FormatDuration(wait)));
    }
  }
  return values_.at(key);
}

}  // namespace rein::coordinator
