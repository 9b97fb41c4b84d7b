// Parsing and validating a safetensors JSON header, independent of how the bytes were read.
#ifndef REIN_COMMON_CHECKPOINT_INTERNAL_HEADER_H_
#define REIN_COMMON_CHECKPOINT_INTERNAL_HEADER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/checkpoint/safetensors.h"

namespace rein::checkpoint::internal {

struct ParsedHeader {
  std::map<std::string, TensorEntry> entries;
  std::map<std::string, std::string> metadata;
};

// Validates `json_text` (the header bytes, trailing padding included) against a data section
// of `data_size` bytes; see SafetensorsFile::Open for the rules. Errors are INVALID_ARGUMENT,
// prefixed "safetensors file '<path>': " and naming the tensor or key.
absl::StatusOr<ParsedHeader> ParseHeader(absl::string_view json_text, uint64_t data_size,
                                         const std::string& path);

}  // namespace rein::checkpoint::internal

#endif  // REIN_COMMON_CHECKPOINT_INTERNAL_HEADER_H_
