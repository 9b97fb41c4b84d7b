// A whole file mapped into memory, unmapped on destruction.
#ifndef REIN_COMMON_CHECKPOINT_INTERNAL_MAPPED_FILE_H_
#define REIN_COMMON_CHECKPOINT_INTERNAL_MAPPED_FILE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace rein::checkpoint::internal {

// Maps a file privately (copy-on-write, readable and writable): a tensor viewing the mapping
// may be modified in place by LibTorch without touching the file or faulting. Pages are loaded
// lazily by the kernel, so opening a large file is cheap. Shared because every tensor viewing it
// keeps it alive. Thread safety: immutable after Open.
class MappedFile {
 public:
  // Errors carry the errno-derived code and name `path`. An empty file is mapped as size 0.
  static absl::StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(std::byte* data, size_t size) : data_(data), size_(size) {}

  std::byte* data_;  // nullptr when size_ == 0.
  size_t size_;
};

}  // namespace rein::checkpoint::internal

#endif  // REIN_COMMON_CHECKPOINT_INTERNAL_MAPPED_FILE_H_
