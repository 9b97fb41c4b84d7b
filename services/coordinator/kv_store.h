// The coordinator's rendezvous key-value store (c10d Store semantics): Set overwrites; Get waits
// up to a deadline for a key to appear. Learner ranks exchange NCCL ids and Gloo addresses here.
// Thread safety: all methods are thread safe; waiting Gets do not block Sets.
#ifndef REIN_SERVICES_COORDINATOR_KV_STORE_H_
#define REIN_SERVICES_COORDINATOR_KV_STORE_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rein::coordinator {

class KvStore {
 public:
  // Limits that keep a misbehaving client from exhausting the coordinator's memory.
  static constexpr size_t kMaxKeyBytes = 1024;
  static constexpr size_t kMaxValueBytes = 1 << 20;
  static constexpr size_t kMaxKeys = 1 << 16;
  // Keys and values together (kMaxKeys full-size values would be 64 GiB).
  static constexpr size_t kMaxTotalBytes = 256 << 20;

  // INVALID_ARGUMENT for an empty or oversized key or value; RESOURCE_EXHAUSTED when it would
  // hold more than kMaxKeys keys or kMaxTotalBytes bytes. Errors quote at most the key's first
  // 64 bytes.
  absl::Status Set(const std::string& key, std::string value);

  // The value of `key`, waiting up to `wait` for it to be set. NOT_FOUND when `wait` is zero
  // and the key is absent; DEADLINE_EXCEEDED naming the key after waiting in vain.
  absl::StatusOr<std::string> Get(const std::string& key, absl::Duration wait);

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> values_ ABSL_GUARDED_BY(mu_);
  size_t total_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_KV_STORE_H_
