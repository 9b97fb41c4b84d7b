#include "common/model/model_size.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/testing/subprocess.h"

namespace rein::model {
namespace {

nlohmann::json ReadConfig(const std::string& dir) {
  std::ifstream in(dir + "/config.json");
  return nlohmann::json::parse(in);
}

// A copy of `source`'s config.json, changed by `edit`, in a fresh folder.
template <typename Edit>
std::string ConfigFolder(const std::string& source, Edit edit) {
  nlohmann::json config = ReadConfig(source);
  edit(config);
  const std::string dir = testing::MakeTempDir("rein-model-size-");
  std::ofstream(dir + "/config.json") << config.dump();
  return dir;
}

TEST_CASE("model size: the estimate matches the parameters of the tiny checkpoints") {
  // The tiny checkpoints are float32 safetensors files: their data is 4 bytes per parameter, so
  // the file size bounds the true count from above by the header only.
  for (const char* name : {"tiny-llama", "tiny-gpt2", "tiny-qwen2", "tiny-qwen3"}) {
    INFO(name);
    const std::string dir = testing::SourcePath(std::string("tests/data/models/") + name);
    auto config = ParseModelConfig(ReadConfig(dir));
    REQUIRE(config.ok());
    const double file_parameters =
        static_cast<double>(std::filesystem::file_size(dir + "/model.safetensors")) / 4;
    const ParameterEstimate estimate = EstimateParameters(*config, 4);
    CHECK(estimate.parameters > 0.97 * file_parameters);
    CHECK(estimate.parameters < 1.05 * file_parameters);
    CHECK(estimate.bytes == estimate.parameters * 4);
    CHECK(CheckModelFolderFits(dir, {}).ok());
  }
}

TEST_CASE("model size: a config beyond the memory budget is refused naming both sizes") {
  const std::string tiny = testing::SourcePath("tests/data/models/tiny-llama");
  const std::string huge = ConfigFolder(tiny, [](nlohmann::json& c) {
    c["vocab_size"] = 1'000'000'000;
    c["hidden_size"] = 100'000;
    c["head_dim"] = 25'000;
  });
  absl::Status status = CheckModelFolderFits(huge, {});
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  const std::string message(status.message());
  CHECK(message.find(huge + "/config.json") != std::string::npos);
  CHECK(message.find("memory budget") != std::string::npos);
  // An explicit budget applies whatever the machine has: tiny-llama's ~0.9 MB does not fit 1 KB.
  CHECK(CheckModelFolderFits(tiny, {.memory_budget_bytes = 1024}).code() ==
        absl::StatusCode::kResourceExhausted);
  CHECK(CheckModelFolderFits(tiny, {.memory_budget_bytes = 1 << 20}).ok());
  // Loaded in bf16 it takes half: 600 KB fits, where float32 does not.
  CHECK(!CheckModelFolderFits(tiny, {.memory_budget_bytes = 600'000}).ok());
  CHECK(
      CheckModelFolderFits(tiny, {.memory_budget_bytes = 600'000, .bytes_per_parameter = 2}).ok());
}

TEST_CASE("model size: safetensors files far larger than the config are refused unread") {
  const std::string dir =
      ConfigFolder(testing::SourcePath("tests/data/models/tiny-llama"), [](nlohmann::json&) {});
  // A sparse 1 TiB file: its header could claim every byte of it.
  const std::string weights = dir + "/model.safetensors";
  { std::ofstream create(weights); }
  REQUIRE(truncate(weights.c_str(), off_t{1} << 40) == 0);
  absl::Status status = CheckModelFolderFits(dir, {.memory_budget_bytes = uint64_t{1} << 30});
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()).find("safetensors files hold") != std::string::npos);
}

TEST_CASE("model size: a folder without a parsable config is left to the loader") {
  CHECK(CheckModelFolderFits(testing::MakeTempDir("rein-model-size-empty-"), {}).ok());
  const std::string dir = testing::MakeTempDir("rein-model-size-bad-");
  std::ofstream(dir + "/config.json") << "{not json";
  CHECK(CheckModelFolderFits(dir, {}).ok());
}

}  // namespace
}  // namespace rein::model
