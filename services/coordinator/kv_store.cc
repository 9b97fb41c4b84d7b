#include "services/coordinator/kv_store.h"

#include "absl/strings/str_cat.h"

namespace rein::coordinator {
namespace {

// A key as error messages show it: a client's key may be long or hostile.
std::string Quoted(const std::string& key) {
  constexpr size_t kShown = 64;
  return key.size() <= kShown ? absl::StrCat("'", key, "'")
                              : absl::StrCat("'", key.substr(0, kShown), "...' (", key.size(),
                                             " bytes)");
}

}  // namespace

absl::Status KvStore::Set(const std::string& key, std::string value) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("key: must be 1..", kMaxKeyBytes, " bytes"));
  }
  if (value.size() > kMaxValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("value of ", Quoted(key), ": ", value.size(),
                                                   " bytes, more than ", kMaxValueBytes));
  }
  absl::MutexLock lock(&mu_);
  auto existing = values_.find(key);
  if (values_.size() >= kMaxKeys && existing == values_.end()) {
    return absl::ResourceExhaustedError(absl::StrCat("key-value store full (", kMaxKeys, " keys)"));
  }
  const size_t freed = existing == values_.end() ? 0 : key.size() + existing->second.size();
  const size_t total = total_bytes_ - freed + key.size() + value.size();
  if (total > kMaxTotalBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "key-value store full: setting ", Quoted(key), " would make it hold ", total,
        " bytes, more than ", kMaxTotalBytes));
  }
  total_bytes_ = total;
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
      return absl::NotFoundError(absl::StrCat("key ", Quoted(key), " is not set"));
    }
    if (!mu_.AwaitWithTimeout(absl::Condition(&present), wait)) {
      return absl::DeadlineExceededError(absl::StrCat("key ", Quoted(key), " was not set within ",
                                                      absl::FormatDuration(wait)));
    }
  }
  return values_.at(key);
}

}  // namespace rein::coordinator
