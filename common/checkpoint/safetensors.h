// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors):
//
//   [8 bytes: N, little-endian u64][N bytes: JSON header, space-padded][data bytes]
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, offsets
// relative to the start of the data bytes, plus an optional "__metadata__" map of strings.
//
// Reading maps the file into memory and validates the whole header before any tensor is handed
// out, so a corrupt or hostile file is an absl::Status naming the file and the offending tensor
// or key, never a crash or an out-of-bounds read. No exception leaves this API.
//
// Byte order: safetensors is little-endian, as is every host Rein runs on (checked at compile
// time).
#ifndef REIN_COMMON_CHECKPOINT_SAFETENSORS_H_
#define REIN_COMMON_CHECKPOINT_SAFETENSORS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rein::checkpoint {

namespace internal {
class MappedFile;
}  // namespace internal

struct SafetensorsOptions {
  // Largest JSON header accepted, in bytes. Default 100 MiB, the limit Hugging Face's own
  // reader applies: far above any real header (a 70B model's is a few hundred KiB), small
  // enough that a corrupt length cannot make us parse gigabytes.
  uint64_t max_header_bytes = uint64_t{100} << 20;
};

// One entry of a header, validated.
struct TensorEntry {
  std::string dtype_name;      // As written in the file: "F32", "BF16", ...
  at::ScalarType dtype;        // The matching LibTorch type.
  std::vector<int64_t> shape;  // Every dim >= 0; empty for a 0-d tensor.
  uint64_t begin = 0;          // Offsets into the data bytes; end - begin == numel * itemsize.
  uint64_t end = 0;
};

// An open, validated safetensors file.
//
// Ownership: the file is memory-mapped copy-on-write (MAP_PRIVATE). Tensors returned by Get()
// view the mapping without copying and hold a shared reference to it, so they stay valid after
// this object is destroyed; the mapping is released when the last of them is. Writing into such
// a tensor changes this process's private copy only, never the file.
//
// Thread safety: all const methods may be called concurrently.
class SafetensorsFile {
 public:
  // Opens and validates `path`. NOT_FOUND / PERMISSION_DENIED / ... (from errno) when it cannot
  // be opened; INVALID_ARGUMENT, naming `path` and the tensor or key, when it is malformed:
  // shorter than 8 bytes; header length above options.max_header_bytes or past the end of the
  // file; header not a JSON object; an entry without a known dtype, a shape of non-negative
  // integers or data_offsets [begin, end] with begin <= end inside the data; numel x itemsize
  // != end - begin; two entries' byte ranges overlapping; "__metadata__" not a map of strings.
  // Gaps between entries are accepted.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(
      const std::string& path, const SafetensorsOptions& options = {});

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }

  // Tensor names, sorted.
  const std::vector<std::string>& names() const { return names_; }

  // The "__metadata__" map; empty if the file has none.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  // The header entry of `name`; NOT_FOUND naming the file if there is none.
  absl::StatusOr<TensorEntry> entry(const std::string& name) const;

  // The tensor `name`: CPU, contiguous, of the file's dtype and shape. It views the mapping (see
  // the class comment) unless its bytes are not aligned to its element size (possible only in
  // files other writers laid out oddly), in which case it is an aligned copy. NOT_FOUND naming
  // the file if there is no such tensor.
  absl::StatusOr<at::Tensor> Get(const std::string& name) const;

 private:
  SafetensorsFile(std::string path, std::shared_ptr<internal::MappedFile> mapping,
                  uint64_t data_start, std::map<std::string, TensorEntry> entries,
                  std::map<std::string, std::string> metadata);

  std::string path_;
  std::shared_ptr<internal::MappedFile> mapping_;
  uint64_t data_start_;  // 8 + header length.
  std::map<std::string, TensorEntry> entries_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` and `metadata` to `path` in safetensors format, atomically: into a temporary
// file beside `path`, fsync'd, then renamed over `path` (and the folder fsync'd), so `path`
// holds either its old contents or the complete new file. The layout follows Hugging Face's
// writer: header padded with spaces to a multiple of 8 bytes, tensors ordered by element size
// (largest first) then name, so every tensor is aligned to its element size.
// INVALID_ARGUMENT, before anything is written, when a tensor is undefined, not on the CPU, not
// contiguous, of a dtype safetensors has no name for in this LibTorch, or when a name is empty,
// repeated or "__metadata__". I/O failures carry the errno-derived code and name the path.
absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace rein::checkpoint

#endif  // REIN_COMMON_CHECKPOINT_SAFETENSORS_H_
