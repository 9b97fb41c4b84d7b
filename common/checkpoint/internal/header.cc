#include "common/checkpoint/internal/header.h"

#include <c10/core/ScalarType.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/checkpoint/internal/dtype.h"
#include "common/status/status_macros.h"

namespace rein::checkpoint::internal {
namespace {

using nlohmann::json;

constexpr char kMetadataKey[] = "__metadata__";

absl::Status Invalid(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("safetensors file '", path, "': ", what));
}

absl::Status InvalidTensor(const std::string& path, const std::string& name,
                           const std::string& what) {
  return Invalid(path, absl::StrCat("tensor '", name, "': ", what));
}

// Parses the header, refusing duplicate top-level keys: nlohmann keeps the last silently, which
// would let a second entry for a name hide the first.
absl::StatusOr<json> ParseJsonObject(absl::string_view text, const std::string& path) {
  std::string duplicate;
  std::set<std::string> seen;
  const json::parser_callback_t on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    return Invalid(path, absl::StrCat("header is not valid JSON: ", e.what()));
  }
  if (!header.is_object()) {
    return Invalid(path, absl::StrCat("header is a JSON ", header.type_name(), ", not an object"));
  }
  if (!duplicate.empty()) return Invalid(path, absl::StrCat("key '", duplicate, "' is repeated"));
  return header;
}

absl::StatusOr<std::map<std::string, std::string>> ParseMetadata(const json& value,
                                                                 const std::string& path) {
  if (!value.is_object()) {
    return Invalid(path, absl::StrCat("key '", kMetadataKey, "' is a JSON ", value.type_name(),
                                      ", not a map of strings"));
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      return Invalid(path, absl::StrCat("key '", kMetadataKey, ".", key, "' is a JSON ",
                                        item.type_name(), ", not a string"));
    }
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// Reads `entry[field]` as an array of unsigned integers.
absl::StatusOr<std::vector<uint64_t>> UnsignedArray(const json& entry, const char* field,
                                                    const std::string& path,
                                                    const std::string& name) {
  const auto it = entry.find(field);
  if (it == entry.end() || !it->is_array()) {
    return InvalidTensor(path, name, absl::StrCat("'", field, "' missing or not an array"));
  }
  std::vector<uint64_t> values;
  for (const json& v : *it) {
    if (!v.is_number_unsigned()) {
      return InvalidTensor(
          path, name,
          absl::StrCat("'", field, "' holds ", v.dump(), ", not a non-negative integer"));
    }
    values.push_back(v.get<uint64_t>());
  }
  return values;
}

// Bytes a tensor of `shape` and `type` occupies, or an error if that overflows.
absl::StatusOr<uint64_t> ByteSize(const std::vector<int64_t>& shape, at::ScalarType type,
                                  const std::string& path, const std::string& name) {
  uint64_t bytes = c10::elementSize(type);
  for (const int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes)) {
      return InvalidTensor(path, name, "shape's byte size overflows 64 bits");
    }
  }
  return bytes;
}

absl::StatusOr<TensorEntry> ParseEntry(const json& value, uint64_t data_size,
                                       const std::string& path, const std::string& name) {
  if (!value.is_object()) {
    return InvalidTensor(path, name,
                         absl::StrCat("entry is a JSON ", value.type_name(), ", not an object"));
  }
  TensorEntry entry;
  const auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) {
    return InvalidTensor(path, name, "'dtype' missing or not a string");
  }
  entry.dtype_name = dtype->get<std::string>();
  const std::optional<at::ScalarType> type = ScalarTypeFromName(entry.dtype_name);
  if (!type)
    return InvalidTensor(path, name, absl::StrCat("unsupported dtype '", entry.dtype_name, "'"));
  entry.dtype = *type;

  ASSIGN_OR_RETURN(const std::vector<uint64_t> shape, UnsignedArray(value, "shape", path, name));
  for (const uint64_t dim : shape) {
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidTensor(path, name, absl::StrCat("dimension ", dim, " too large"));
    }
    entry.shape.push_back(static_cast<int64_t>(dim));
  }
  ASSIGN_OR_RETURN(const std::vector<uint64_t> offsets,
                   UnsignedArray(value, "data_offsets", path, name));
  if (offsets.size() != 2) {
    return InvalidTensor(
        path, name,
        absl::StrCat("'data_offsets' has ", offsets.size(), " values, expected [begin, end]"));
  }
  entry.begin = offsets[0];
  entry.end = offsets[1];
  if (entry.begin > entry.end) {
    return InvalidTensor(
        path, name,
        absl::StrCat("data_offsets [", entry.begin, ", ", entry.end, "] end before they begin"));
  }
  if (entry.end > data_size) {
    return InvalidTensor(path, name,
                         absl::StrCat("data_offsets [", entry.begin, ", ", entry.end,
                                      "] run past the end of the data (", data_size, " bytes)"));
  }
  ASSIGN_OR_RETURN(const uint64_t bytes, ByteSize(entry.shape, entry.dtype, path, name));
  if (bytes != entry.end - entry.begin) {
    return InvalidTensor(
        path, name,
        absl::StrCat("dtype ", entry.dtype_name, " x shape [", absl::StrJoin(entry.shape, ","),
                     "] is ", bytes, " bytes but data_offsets span ", entry.end - entry.begin));
  }
  return entry;
}

// Invariant checked: no byte of the data section belongs to two tensors. Empty tensors occupy
// no bytes and cannot overlap anything.
absl::Status CheckNoOverlap(const std::map<std::string, TensorEntry>& entries,
                            const std::string& path) {
  std::vector<std::tuple<uint64_t, uint64_t, const std::string*>> ranges;
  for (const auto& [name, entry] : entries) {
    if (entry.begin != entry.end) ranges.emplace_back(entry.begin, entry.end, &name);
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered_to = 0;
  const std::string* owner = nullptr;
  for (const auto& [begin, end, name] : ranges) {
    if (owner != nullptr && begin < covered_to) {
      return InvalidTensor(
          path, *name,
          absl::StrCat("data_offsets [", begin, ", ", end, "] overlap those of tensor '", *owner,
                       "', which end at ", covered_to));
    }
    covered_to = end;
    owner = name;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedHeader> ParseHeader(absl::string_view json_text, uint64_t data_size,
                                         const std::string& path) {
  ASSIGN_OR_RETURN(const json header, ParseJsonObject(json_text, path));
  ParsedHeader parsed;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      ASSIGN_OR_RETURN(parsed.metadata, ParseMetadata(value, path));
      continue;
    }
    ASSIGN_OR_RETURN(TensorEntry entry, ParseEntry(value, data_size, path, key));
    parsed.entries.emplace(key, std::move(entry));
  }
  RETURN_IF_ERROR(CheckNoOverlap(parsed.entries, path));
  return parsed;
}

}  // namespace rein::checkpoint::internal
