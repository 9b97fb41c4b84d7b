#include "common/checkpoint/safetensors.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/util/Exception.h>

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/internal/dtype.h"
#include "common/files/file_util.h"
#include "common/checkpoint/internal/header.h"
#include "common/checkpoint/internal/mapped_file.h"
#include "common/status/status_macros.h"

namespace rein::checkpoint {
namespace {

// The format's integers and tensor bytes are little-endian; reading them with memcpy is only
// correct on a little-endian host.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

constexpr uint64_t kLengthBytes = 8;

absl::Status Invalid(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("safetensors file '", path, "': ", what));
}

// A view of the mapped bytes of `entry`, or an aligned copy when the file places them at an
// address LibTorch's kernels may not load from (they assume element alignment).
at::Tensor TensorFromMapping(const std::shared_ptr<internal::MappedFile>& mapping, std::byte* data,
                             const TensorEntry& entry) {
  const auto options = at::TensorOptions().dtype(entry.dtype);
  const size_t bytes = entry.end - entry.begin;
  if (bytes == 0) return at::empty(entry.shape, options);
  if (reinterpret_cast<uintptr_t>(data) % c10::elementSize(entry.dtype) != 0) {
    at::Tensor copy = at::empty(entry.shape, options);
    std::memcpy(copy.data_ptr(), data, bytes);
    return copy;
  }
  // The deleter owns a reference to the mapping: the storage keeps the file mapped.
  return at::from_blob(
      data, entry.shape, [keep = mapping](void*) {}, options);
}

}  // namespace

SafetensorsFile::SafetensorsFile(std::string path, std::shared_ptr<internal::MappedFile> mapping,
                                 uint64_t data_start, std::map<std::string, TensorEntry> entries,
                                 std::map<std::string, std::string> metadata)
    : path_(std::move(path)),
      mapping_(std::move(mapping)),
      data_start_(data_start),
      entries_(std::move(entries)),
      metadata_(std::move(metadata)) {
  names_.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) names_.push_back(name);
}

SafetensorsFile::~SafetensorsFile() = default;

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(
    const std::string& path, const SafetensorsOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<internal::MappedFile> mapping, internal::MappedFile::Open(path));
  const uint64_t file_size = mapping->size();
  if (file_size < kLengthBytes) {
    return Invalid(path, absl::StrCat("truncated: ", file_size,
                                      " bytes, too short for the 8-byte header length"));
  }
  uint64_t header_size = 0;
  std::memcpy(&header_size, mapping->data(), kLengthBytes);
  if (header_size > options.max_header_bytes) {
    return Invalid(path, absl::StrCat("header length ", header_size, " exceeds the limit of ",
                                      options.max_header_bytes, " bytes"));
  }
  if (header_size > file_size - kLengthBytes) {
    return Invalid(path, absl::StrCat("header length ", header_size,
                                      " runs past the end of the file (", file_size, " bytes)"));
  }
  const absl::string_view header_text(reinterpret_cast<const char*>(mapping->data()) + kLengthBytes,
                                      header_size);
  const uint64_t data_start = kLengthBytes + header_size;
  ASSIGN_OR_RETURN(internal::ParsedHeader header,
                   internal::ParseHeader(header_text, file_size - data_start, path));
  return std::unique_ptr<SafetensorsFile>(new SafetensorsFile(
      path, std::move(mapping), data_start, std::move(header.entries), std::move(header.metadata)));
}

absl::StatusOr<TensorEntry> SafetensorsFile::entry(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(
        absl::StrCat("safetensors file '", path_, "' has no tensor '", name, "'"));
  }
  return it->second;
}

absl::StatusOr<at::Tensor> SafetensorsFile::Get(const std::string& name) const {
  ASSIGN_OR_RETURN(const TensorEntry e, entry(name));
  try {
    return TensorFromMapping(mapping_, mapping_->data() + data_start_ + e.begin, e);
  } catch (const c10::Error& error) {
    return absl::InternalError(absl::StrCat("safetensors file '", path_, "': tensor '", name,
                                            "': ", error.what_without_backtrace()));
  }
}

}  // namespace rein::checkpoint
