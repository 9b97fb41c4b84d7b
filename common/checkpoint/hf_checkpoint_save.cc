// SaveHfCheckpoint (declared in hf_checkpoint.h).
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/checkpoint/hf_checkpoint.h"
#include "common/files/file_util.h"
#include "common/status/status_macros.h"

namespace rein::checkpoint {
namespace {

using nlohmann::json;
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

std::string Join(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

uint64_t Bytes(const at::Tensor& t) { return t.defined() ? static_cast<uint64_t>(t.nbytes()) : 0; }

absl::Status WriteJson(const std::string& path, const json& value) {
  std::string text;
  try {
    text = value.dump(2) + "\n";
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write '", path, "': ", e.what()));
  }
  return files::WriteFileAtomically(
      path, [&](int fd) { return files::WriteAll(fd, text.data(), text.size(), path); });
}

// Splits `tensors`, in order, into groups of at most `max_bytes` each (a larger tensor alone).
std::vector<NamedTensors> SplitIntoShards(const NamedTensors& tensors, uint64_t max_bytes) {
  std::vector<NamedTensors> shards(1);
  uint64_t filled = 0;
  for (const auto& named : tensors) {
    const uint64_t bytes = Bytes(named.second);
    if (max_bytes != 0 && !shards.back().empty() && filled + bytes > max_bytes) {
      shards.emplace_back();
      filled = 0;
    }
    shards.back().push_back(named);
    filled += bytes;
  }
  return shards;
}

// Writes the shards and model.safetensors.index.json, as transformers names them.
absl::Status WriteSharded(const std::string& dir, const std::vector<NamedTensors>& shards,
                          const SaveOptions& options) {
  json weight_map = json::object();
  uint64_t total_size = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file =
        absl::StrFormat("model-%05d-of-%05d.safetensors", i + 1, shards.size());
    RETURN_IF_ERROR(WriteSafetensors(Join(dir, file), shards[i], options.metadata));
    for (const auto& [name, tensor] : shards[i]) {
      weight_map[name] = file;
      total_size += Bytes(tensor);
    }
  }
  const json index = {{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}};
  return WriteJson(Join(dir, "model.safetensors.index.json"), index);
}

// Writes the whole checkpoint into the empty folder `dir`.
absl::Status WriteContents(const std::string& dir, const json& config, const NamedTensors& tensors,
                           const SaveOptions& options) {
  RETURN_IF_ERROR(WriteJson(Join(dir, "config.json"), config));
  const std::vector<NamedTensors> shards = SplitIntoShards(tensors, options.max_shard_bytes);
  if (shards.size() == 1) {
    RETURN_IF_ERROR(WriteSafetensors(Join(dir, "model.safetensors"), tensors, options.metadata));
  } else {
    RETURN_IF_ERROR(WriteSharded(dir, shards, options));
  }
  return files::FsyncDir(dir);
}

absl::Status CheckUniqueNames(const std::string& dir, const NamedTensors& tensors) {
  std::set<std::string> seen;
  for (const auto& named : tensors) {
    if (!seen.insert(named.first).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot save checkpoint '", dir, "': tensor '", named.first, "' repeated"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SaveHfCheckpoint(const std::string& dir, const nlohmann::json& config,
                              const NamedTensors& tensors, const SaveOptions& options) {
  RETURN_IF_ERROR(CheckUniqueNames(dir, tensors));
  struct stat st {};
  if (!options.overwrite && ::lstat(dir.c_str(), &st) == 0) {
    // Checked early so that no work is wasted; MoveDirIntoPlace checks again at the end.
    return absl::AlreadyExistsError(
        absl::StrCat("'", dir, "' exists; set SaveOptions::overwrite to replace it"));
  }
  ASSIGN_OR_RETURN(const std::string tmp, files::MakeTempSiblingDir(dir));
  absl::Status status = WriteContents(tmp, config, tensors, options);
  if (status.ok()) {
    status = files::MoveDirIntoPlace(tmp, dir, options.overwrite ? "config.json" : "");
  }
  if (!status.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
  }
  return status;
}

}  // namespace rein::checkpoint
