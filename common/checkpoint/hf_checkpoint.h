// Hugging Face checkpoint folders: config.json plus either model.safetensors or shards listed in
// model.safetensors.index.json ({"metadata": {...}, "weight_map": {tensor name: shard file}}).
//
// Tensor names are whatever the folder (or the caller) uses — Hugging Face's — so a folder Rein
// writes loads in transformers and vice versa. Only safetensors is read or written; never
// pickle. No exception leaves this API.
//
// Thread safety: free functions without shared state.
#ifndef REIN_COMMON_CHECKPOINT_HF_CHECKPOINT_H_
#define REIN_COMMON_CHECKPOINT_HF_CHECKPOINT_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/checkpoint/safetensors.h"

namespace rein::checkpoint {

// Names to leave out, e.g. GPT-2's legacy non-persistent buffers {".attn.bias",
// ".attn.masked_bias"}. A name matches if it starts with any prefix or ends with any suffix.
struct NameFilter {
  std::vector<std::string> prefixes;  // Default: none.
  std::vector<std::string> suffixes;  // Default: none.

  bool Matches(const std::string& name) const;
};

struct HfCheckpoint {
  nlohmann::json config;                      // config.json, parsed.
  std::map<std::string, at::Tensor> tensors;  // Every tensor not ignored, by HF name.
};

struct LoadOptions {
  // If set, floating-point tensors are converted to this type (one copy each); integer and bool
  // tensors keep theirs. Default: unset, every tensor keeps the file's dtype and views the
  // memory-mapped file without a copy (see SafetensorsFile).
  std::optional<at::ScalarType> dtype;
  // Tensors to skip, in the files and in the index alike. Default: none.
  NameFilter ignore;
  // Applied to every safetensors file read.
  SafetensorsOptions safetensors;
};

// Loads the checkpoint folder `dir`. If model.safetensors.index.json exists it is used, else
// model.safetensors. Errors (each naming the file, and the tensor or key where there is one):
// NOT_FOUND for a missing config.json or weights file; INVALID_ARGUMENT for malformed JSON, an
// index without a "weight_map" object of strings, a shard name with a '/', an index entry whose
// shard lacks that tensor, a shard tensor the index does not map to that shard, or any
// safetensors validation failure.
absl::StatusOr<HfCheckpoint> LoadHfCheckpoint(const std::string& dir,
                                              const LoadOptions& options = {});

struct SaveOptions {
  // Tensor bytes per safetensors file above which the checkpoint is split into shards
  // model-0000i-of-0000n.safetensors with an index, as transformers' save_pretrained does.
  // Shards fill in the caller's order; one tensor larger than this gets a shard of its own.
  // 0 means never shard. Default: 5 GB (transformers' default max_shard_size).
  uint64_t max_shard_bytes = 5'000'000'000;
  // "__metadata__" of every safetensors file. Default {"format": "pt"}, which transformers
  // expects when it loads a PyTorch model.
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  // If `dir` exists: replace it (true) or fail with ALREADY_EXISTS (false). Default false, so a
  // mistyped path never deletes a folder. Even when true only a Hugging Face folder (one that
  // holds config.json) is replaced; any other folder is FAILED_PRECONDITION and left alone.
  bool overwrite = false;
};

// Writes config.json and the tensors into `dir` atomically: everything goes into a fresh
// sibling folder `<dir>.tmp-XXXXXX`, each file and the folder are fsync'd, and only then is it
// renamed to `dir` (swapped with an existing `dir` when overwriting, whose old contents are then
// removed). On any failure the temporary folder is removed and `dir` is untouched, so a
// half-written checkpoint never appears under `dir`. Tensors must be defined, CPU and contiguous
// (INVALID_ARGUMENT otherwise, naming the tensor); names must be unique.
absl::Status SaveHfCheckpoint(const std::string& dir, const nlohmann::json& config,
                              const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                              const SaveOptions& options = {});

// Compares the names a model expects with those a checkpoint holds, skipping names `ignore`
// matches on either side. OK if they agree; otherwise INVALID_ARGUMENT listing up to
// `max_listed` missing and up to `max_listed` unexpected names (sorted), with their counts, in
// one message.
absl::Status CheckTensorNames(const std::set<std::string>& expected,
                              const std::map<std::string, at::Tensor>& got,
                              const NameFilter& ignore = {}, int max_listed = 10);

}  // namespace rein::checkpoint

#endif  // REIN_COMMON_CHECKPOINT_HF_CHECKPOINT_H_
