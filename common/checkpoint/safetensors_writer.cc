// WriteSafetensors (declared in safetensors.h).
#include <c10/util/Exception.h>

#include <algorithm>
#include <bit>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/internal/dtype.h"
#include "common/files/file_util.h"
#include "common/checkpoint/safetensors.h"
#include "common/status/status_macros.h"

namespace rein::checkpoint {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

// A tensor as it will be laid out in the file.
struct Planned {
  const std::string* name;
  const at::Tensor* tensor;
  std::string dtype_name;
  size_t item_size;
  uint64_t bytes;
};

absl::Status InvalidTensor(const std::string& path, const std::string& name,
                           const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot write safetensors file '", path, "': tensor '", name, "': ", what));
}

absl::StatusOr<Planned> PlanOne(const std::string& path, const std::string& name,
                                const at::Tensor& t) {
  if (!t.defined()) return InvalidTensor(path, name, "undefined");
  if (t.layout() != at::kStrided) return InvalidTensor(path, name, "not a dense (strided) tensor");
  if (!t.device().is_cpu()) {
    return InvalidTensor(path, name, absl::StrCat("on ", t.device().str(), ", not the CPU"));
  }
  if (!t.is_contiguous()) return InvalidTensor(path, name, "not contiguous");
  const std::optional<std::string> dtype_name = internal::NameFromScalarType(t.scalar_type());
  if (!dtype_name) {
    return InvalidTensor(
        path, name,
        absl::StrCat("dtype ", c10::toString(t.scalar_type()), " has no safetensors name"));
  }
  const size_t item_size = c10::elementSize(t.scalar_type());
  return Planned{&name, &t, *dtype_name, item_size, static_cast<uint64_t>(t.nbytes())};
}

// Validates every tensor and orders them as Hugging Face's writer does: by element size,
// largest first, then by name. With the data section 8-byte aligned, every tensor then starts
// at a multiple of its own element size, so readers can view it in place.
absl::StatusOr<std::vector<Planned>> Plan(
    const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::vector<Planned> plan;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__") {
      return InvalidTensor(path, name, "reserved or empty name");
    }
    if (!seen.insert(name).second) return InvalidTensor(path, name, "name repeated");
    ASSIGN_OR_RETURN(Planned p, PlanOne(path, name, tensor));
    plan.push_back(std::move(p));
  }
  std::sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) {
    if (a.item_size != b.item_size) return a.item_size > b.item_size;
    return *a.name < *b.name;
  });
  return plan;
}

// The header JSON: "__metadata__" first (if any), then the tensors in data order, each with its
// keys in the order of the specification; padded with spaces to a multiple of 8 bytes.
absl::StatusOr<std::string> BuildHeader(const std::string& path, const std::vector<Planned>& plan,
                                        const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const Planned& p : plan) {
    nlohmann::ordered_json entry;
    entry["dtype"] = p.dtype_name;
    entry["shape"] = p.tensor->sizes().vec();
    entry["data_offsets"] = {offset, offset + p.bytes};
    header[*p.name] = std::move(entry);
    offset += p.bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    // Invalid UTF-8 in a name or metadata value.
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write safetensors file '", path, "': ", e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

absl::Status WriteContents(int fd, const std::string& path, const std::string& header,
                           const std::vector<Planned>& plan) {
  const uint64_t length = header.size();
  RETURN_IF_ERROR(files::WriteAll(fd, &length, sizeof(length), path));
  RETURN_IF_ERROR(files::WriteAll(fd, header.data(), header.size(), path));
  for (const Planned& p : plan) {
    if (p.bytes == 0) continue;  // data_ptr() of an empty tensor may be null.
    RETURN_IF_ERROR(files::WriteAll(fd, p.tensor->data_ptr(), p.bytes, path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  try {
    ASSIGN_OR_RETURN(const std::vector<Planned> plan, Plan(path, tensors));
    ASSIGN_OR_RETURN(const std::string header, BuildHeader(path, plan, metadata));
    return files::WriteFileAtomically(
        path, [&](int fd) { return WriteContents(fd, path, header, plan); });
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("cannot write safetensors file '", path, "': ", e.what_without_backtrace()));
  }
}

}  // namespace rein::checkpoint
