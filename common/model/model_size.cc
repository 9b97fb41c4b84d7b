#include "common/model/model_size.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/files/file_util.h"
#include "common/status/status_macros.h"

namespace rein::model {
namespace {

// config.json files are a few KiB; one larger than this is not a model's config.
constexpr uintmax_t kMaxConfigBytes = uintmax_t{16} << 20;
// Room for safetensors headers (at most 100 MiB each, far less in practice) and for tensors a
// config does not describe (buffers, extra heads): files may exceed 8 bytes per parameter by
// this much.
constexpr double kHeaderSlackBytes = double{256 << 20};

std::string Gib(double bytes) { return absl::StrFormat("%.3g GiB", bytes / double{1 << 30}); }

// Bytes of the *.safetensors files directly in `dir` (model.safetensors or its shards).
double SafetensorsBytes(const std::string& dir) {
  double total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".safetensors") continue;
    std::error_code size_ec;
    const uintmax_t size = entry.file_size(size_ec);
    if (!size_ec) total += static_cast<double>(size);
  }
  return total;
}

}  // namespace

ParameterEstimate EstimateParameters(const ModelConfig& c, int bytes_per_parameter) {
  const double vocab = static_cast<double>(c.vocab_size);
  const double hidden = static_cast<double>(c.hidden_size);
  const double heads = static_cast<double>(c.num_heads);
  const double kv_heads = static_cast<double>(c.num_kv_heads > 0 ? c.num_kv_heads : c.num_heads);
  const double head_dim = static_cast<double>(
      c.head_dim > 0 ? c.head_dim : c.hidden_size / std::max<int64_t>(1, c.num_heads));
  const double inner = static_cast<double>(c.intermediate_size);
  const bool gpt2 = c.family == Family::kGpt2;

  double embeddings = vocab * hidden;
  if (gpt2) embeddings += static_cast<double>(c.max_position_embeddings) * hidden;
  // q and o: heads x head_dim each side of hidden; k and v: kv_heads x head_dim. Biases are
  // counted whether or not the model has them (a few hidden-sized vectors per layer).
  const double attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim +
                           (heads + 2 * kv_heads) * head_dim + hidden;
  // GPT-2: up and down; the Llama family: gate, up and down.
  const double mlp = (gpt2 ? 2 : 3) * hidden * inner + 3 * inner + hidden;
  const double norms = 4 * hidden + (c.qk_norm ? 2 * head_dim : 0);
  const double layers = static_cast<double>(c.num_layers) * (attention + mlp + norms);
  const double head = c.tie_word_embeddings ? 0 : vocab * hidden;
  ParameterEstimate estimate;
  estimate.parameters = embeddings + layers + 2 * hidden + head;
  estimate.bytes = estimate.parameters * bytes_per_parameter;
  return estimate;
}

int ConfigDtypeBytes(const ModelConfig& config) {
  const auto it = config.raw.find("torch_dtype");
  if (it == config.raw.end() || !it->is_string()) return 4;
  const std::string name = it->get<std::string>();
  if (name == "bfloat16" || name == "float16") return 2;
  if (name == "float64") return 8;
  return 4;
}

uint64_t DefaultMemoryBudgetBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return uint64_t{64} << 30;  // Unknown: assume 64 GiB.
  return static_cast<uint64_t>(pages) / 4 * 3 * static_cast<uint64_t>(page_size);
}

namespace {

// INVALID_ARGUMENT when `config_path` is larger than any model's config.json; OK otherwise, a
// missing file included.
absl::Status CheckConfigSize(const std::string& config_path) {
  std::error_code ec;
  const uintmax_t config_bytes = std::filesystem::file_size(config_path, ec);
  if (!ec && config_bytes > kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat("'", config_path, "': ", config_bytes,
                                                   " bytes, above the limit of ", kMaxConfigBytes,
                                                   " for a config.json"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelConfig> ReadModelFolderConfig(const std::string& dir) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  std::error_code ec;
  if (!std::filesystem::exists(config_path, ec)) {
    return absl::NotFoundError(absl::StrCat("'", dir, "' has no config.json"));
  }
  RETURN_IF_ERROR(CheckConfigSize(config_path));
  ASSIGN_OR_RETURN(const std::string text, files::ReadFile(config_path));
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat("'", config_path, "' is not valid JSON"));
  }
  absl::StatusOr<ModelConfig> config = ParseModelConfig(json);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", config_path, "': ", config.status().message()));
  }
  return config;
}

absl::Status CheckModelFolderFits(const std::string& dir, const ModelFolderBudget& budget) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  RETURN_IF_ERROR(CheckConfigSize(config_path));
  absl::StatusOr<ModelConfig> config = ReadModelFolderConfig(dir);
  if (!config.ok()) return absl::OkStatus();  // The loader names what is wrong with it.

  const int bytes_per_parameter =
      budget.bytes_per_parameter > 0 ? budget.bytes_per_parameter : ConfigDtypeBytes(*config);
  const ParameterEstimate estimate = EstimateParameters(*config, bytes_per_parameter);
  const uint64_t limit =
      budget.memory_budget_bytes > 0 ? budget.memory_budget_bytes : DefaultMemoryBudgetBytes();
  if (estimate.bytes > static_cast<double>(limit)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "'", config_path, "' describes a model of ~", absl::StrFormat("%.4g", estimate.parameters),
        " parameters, ~", Gib(estimate.bytes), " at ", bytes_per_parameter,
        " bytes each; the memory budget is ", Gib(static_cast<double>(limit)),
        " (model.memory_budget_bytes; default 3/4 of physical memory)"));
  }
  const double files = SafetensorsBytes(dir);
  const double most = estimate.parameters * 8 + kHeaderSlackBytes;
  if (files > most) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", dir, "': its safetensors files hold ", Gib(files), ", more than the ~",
                     absl::StrFormat("%.4g", estimate.parameters),
                     " parameters of its config.json could at 8 "
                     "bytes each (",
                     Gib(most), " with headers); refused before loading"));
  }
  return absl::OkStatus();
}

}  // namespace rein::model
