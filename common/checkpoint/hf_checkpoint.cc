// Loading Hugging Face checkpoint folders, and CheckTensorNames. Saving is in
// hf_checkpoint_save.cc.
#include "common/checkpoint/hf_checkpoint.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files/file_util.h"
#include "common/status/status_macros.h"

namespace rein::checkpoint {
namespace {

using nlohmann::json;

constexpr char kConfigFile[] = "config.json";
constexpr char kSingleFile[] = "model.safetensors";
constexpr char kIndexFile[] = "model.safetensors.index.json";

std::string Join(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

absl::StatusOr<json> ReadJson(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, files::ReadFile(path));
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not valid JSON: ", e.what()));
  }
}

// Adds `name` from `file` to `out`, converting floating-point tensors when asked.
absl::Status Take(const SafetensorsFile& file, const std::string& name, const LoadOptions& options,
                  std::map<std::string, at::Tensor>& out) {
  ASSIGN_OR_RETURN(at::Tensor tensor, file.Get(name));
  if (options.dtype && at::isFloatingType(tensor.scalar_type())) {
    try {
      tensor = tensor.to(*options.dtype);
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat("'", file.path(), "': tensor '", name,
                       "': dtype conversion failed: ", e.what_without_backtrace()));
    }
  }
  out.emplace(name, std::move(tensor));
  return absl::OkStatus();
}

absl::Status LoadSingle(const std::string& path, const LoadOptions& options,
                        std::map<std::string, at::Tensor>& out) {
  ASSIGN_OR_RETURN(const auto file, SafetensorsFile::Open(path, options.safetensors));
  for (const std::string& name : file->names()) {
    if (!options.ignore.Matches(name)) RETURN_IF_ERROR(Take(*file, name, options, out));
  }
  return absl::OkStatus();
}

// The index's weight_map without ignored names, validated: tensor name -> shard file name.
absl::StatusOr<std::map<std::string, std::string>> ReadWeightMap(const std::string& index_path,
                                                                 const NameFilter& ignore) {
  ASSIGN_OR_RETURN(const json index, ReadJson(index_path));
  const auto invalid = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("'", index_path, "': ", what));
  };
  if (!index.is_object()) return invalid("not a JSON object");
  const auto weight_map = index.find("weight_map");
  if (weight_map == index.end() || !weight_map->is_object()) {
    return invalid("'weight_map' missing or not an object");
  }
  std::map<std::string, std::string> shard_of;
  for (const auto& [name, file] : weight_map->items()) {
    if (!file.is_string()) return invalid(absl::StrCat("weight_map['", name, "'] is not a string"));
    const auto& file_name = file.get_ref<const std::string&>();
    // Shards sit beside the index; a path could escape the folder.
    if (file_name.empty() || absl::StrContains(file_name, "/")) {
      return invalid(absl::StrCat("weight_map['", name, "'] = '", file_name,
                                  "' is not a file name in this folder"));
    }
    if (!ignore.Matches(name)) shard_of.emplace(name, file_name);
  }
  return shard_of;
}

// Opens `shard` and checks that it holds every tensor the index maps to it.
absl::StatusOr<std::unique_ptr<SafetensorsFile>> OpenShard(const std::string& dir,
                                                           const std::string& index_path,
                                                           const std::string& shard,
                                                           const std::vector<std::string>& names,
                                                           const LoadOptions& options) {
  auto file = SafetensorsFile::Open(Join(dir, shard), options.safetensors);
  if (!file.ok()) {
    return absl::Status(file.status().code(),
                        absl::StrCat("'", index_path, "' maps tensor '", names.front(), "' to '",
                                     shard, "': ", file.status().message()));
  }
  for (const std::string& name : names) {
    if (!(*file)->contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat("'", index_path, "' maps tensor '", name,
                                                     "' to '", shard, "', which lacks it"));
    }
  }
  return file;
}

// Takes a shard's tensors, each of which the index must map to this shard.
absl::Status TakeShard(const SafetensorsFile& file, const std::string& index_path,
                       const std::string& shard, const std::map<std::string, std::string>& shard_of,
                       const LoadOptions& options, std::map<std::string, at::Tensor>& out) {
  for (const std::string& name : file.names()) {
    if (options.ignore.Matches(name)) continue;
    const auto it = shard_of.find(name);
    if (it == shard_of.end() || it->second != shard) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shard '", file.path(), "' holds tensor '", name, "', which '", index_path,
          it == shard_of.end() ? "' does not list" : absl::StrCat("' maps to '", it->second, "'")));
    }
    RETURN_IF_ERROR(Take(file, name, options, out));
  }
  return absl::OkStatus();
}

// Opens every shard before taking any tensor, so that a missing shard or tensor is reported as
// such rather than as a consequence (another shard's "unlisted" tensor).
absl::Status LoadSharded(const std::string& dir, const std::string& index_path,
                         const LoadOptions& options, std::map<std::string, at::Tensor>& out) {
  ASSIGN_OR_RETURN(const auto shard_of, ReadWeightMap(index_path, options.ignore));
  std::map<std::string, std::vector<std::string>> names_in;  // shard -> tensor names.
  for (const auto& [name, shard] : shard_of) names_in[shard].push_back(name);
  std::map<std::string, std::unique_ptr<SafetensorsFile>> files;
  for (const auto& [shard, names] : names_in) {
    ASSIGN_OR_RETURN(files[shard], OpenShard(dir, index_path, shard, names, options));
  }
  for (const auto& [shard, file] : files) {
    RETURN_IF_ERROR(TakeShard(*file, index_path, shard, shard_of, options, out));
  }
  return absl::OkStatus();
}

// "a, b, c and 4 more" from a sorted list.
std::string ListSome(const std::vector<std::string>& names, int max_listed) {
  const size_t shown = std::min(names.size(), static_cast<size_t>(std::max(max_listed, 0)));
  std::string text = absl::StrJoin(names.begin(), names.begin() + shown, ", ");
  if (shown < names.size()) absl::StrAppend(&text, " and ", names.size() - shown, " more");
  return text;
}

}  // namespace

bool NameFilter::Matches(const std::string& name) const {
  for (const std::string& p : prefixes) {
    if (absl::StartsWith(name, p)) return true;
  }
  for (const std::string& s : suffixes) {
    if (absl::EndsWith(name, s)) return true;
  }
  return false;
}

absl::StatusOr<HfCheckpoint> LoadHfCheckpoint(const std::string& dir, const LoadOptions& options) {
  HfCheckpoint checkpoint;
  ASSIGN_OR_RETURN(checkpoint.config, ReadJson(Join(dir, kConfigFile)));
  if (!checkpoint.config.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", Join(dir, kConfigFile), "' is not a JSON object"));
  }
  const std::string index_path = Join(dir, kIndexFile);
  const std::string single_path = Join(dir, kSingleFile);
  std::error_code ec;
  if (std::filesystem::exists(index_path, ec)) {
    RETURN_IF_ERROR(LoadSharded(dir, index_path, options, checkpoint.tensors));
  } else if (std::filesystem::exists(single_path, ec)) {
    RETURN_IF_ERROR(LoadSingle(single_path, options, checkpoint.tensors));
  } else {
    return absl::NotFoundError(
        absl::StrCat("'", dir, "' has neither ", kSingleFile, " nor ", kIndexFile));
  }
  return checkpoint;
}

absl::Status CheckTensorNames(const std::set<std::string>& expected,
                              const std::map<std::string, at::Tensor>& got,
                              const NameFilter& ignore, int max_listed) {
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
  for (const std::string& name : expected) {
    if (!ignore.Matches(name) && got.count(name) == 0) missing.push_back(name);
  }
  for (const auto& [name, tensor] : got) {
    if (!ignore.Matches(name) && expected.count(name) == 0) unexpected.push_back(name);
  }
  if (missing.empty() && unexpected.empty()) return absl::OkStatus();
  std::string message = "checkpoint tensors do not match the model:";
  if (!missing.empty()) {
    absl::StrAppend(&message, " ", missing.size(), " missing (", ListSome(missing, max_listed), ")",
                    unexpected.empty() ? "" : ";");
  }
  if (!unexpected.empty()) {
    absl::StrAppend(&message, " ", unexpected.size(), " unexpected (",
                    ListSome(unexpected, max_listed), ")");
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace rein::checkpoint
