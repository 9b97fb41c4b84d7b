// SaveHfCheckpoint: round trips, transformers-compatible layout, sharding, and the guarantee
// that a failed save never leaves a partial folder under the final name.
#include <ATen/ops/arange.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "common/checkpoint/hf_checkpoint.h"
#include "common/files/file_util.h"
#include "common/testing/subprocess.h"

namespace rein::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

std::string Golden(const std::string& relative) {
  return rein::testing::SourcePath("tests/data/models/" + relative);
}

std::string ReadBytes(const std::string& path) {
  auto contents = files::ReadFile(path);
  REQUIRE(contents.ok());
  return *contents;
}

bool SameBytes(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) == 0;
}

// Names in `root` other than the ones listed: leftovers such as "<dir>.tmp-XXXXXX".
std::set<std::string> Entries(const std::string& root) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(root)) names.insert(e.path().filename().string());
  return names;
}

NamedTensors SmallModel() {
  return {{"model.embed_tokens.weight", at::randn({10, 4})},
          {"model.norm.weight", at::ones({4}).to(at::kBFloat16)},
          {"lm_head.weight", at::randn({10, 4}).to(at::kHalf)},
          {"step", at::arange(3, at::kLong)}};
}

const json kConfig = {{"model_type", "llama"}, {"hidden_size", 4}};

TEST_CASE("a golden checkpoint saved by Rein is byte-identical and loads back") {
  const std::string root = rein::testing::MakeTempDir("checkpoint_save");
  const auto golden = LoadHfCheckpoint(Golden("tiny-llama"));
  REQUIRE(golden.ok());
  NamedTensors tensors(golden->tensors.begin(), golden->tensors.end());
  const std::string dir = root + "/out";
  REQUIRE(SaveHfCheckpoint(dir, golden->config, tensors).ok());
  // transformers wrote the golden file; identical bytes mean transformers reads ours.
  CHECK(ReadBytes(dir + "/model.safetensors") == ReadBytes(Golden("tiny-llama/model.safetensors")));
  CHECK(Entries(dir) == std::set<std::string>{"config.json", "model.safetensors"});
  const auto again = LoadHfCheckpoint(dir);
  REQUIRE(again.ok());
  CHECK(again->config == golden->config);
  CHECK(again->tensors.size() == golden->tensors.size());
  CHECK(Entries(root) == std::set<std::string>{"out"});
  fs::remove_all(root);
}

TEST_CASE("above max_shard_bytes the checkpoint is sharded with an index") {
  const std::string root = rein::testing::MakeTempDir("checkpoint_save");
  const NamedTensors tensors = SmallModel();  // 160 + 8 + 80 + 24 bytes.
  SaveOptions options;
  options.max_shard_bytes = 170;
  const std::string dir = root + "/sharded";
  REQUIRE(SaveHfCheckpoint(dir, kConfig, tensors, options).ok());
  CHECK(Entries(dir) == std::set<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                              "model-00002-of-00002.safetensors",
                                              "model.safetensors.index.json"});
  const json index = json::parse(ReadBytes(dir + "/model.safetensors.index.json"));
  CHECK(index["metadata"]["total_size"] == 272);
  CHECK(index["weight_map"]["model.norm.weight"] == "model-00001-of-00002.safetensors");
  CHECK(index["weight_map"]["lm_head.weight"] == "model-00002-of-00002.safetensors");

  const auto loaded = LoadHfCheckpoint(dir);
  REQUIRE(loaded.ok());
  CHECK(loaded->config == kConfig);
  REQUIRE(loaded->tensors.size() == tensors.size());
  for (const auto& [name, tensor] : tensors) {
    INFO(name);
    CHECK(SameBytes(loaded->tensors.at(name), tensor));
  }
  fs::remove_all(root);
}

TEST_CASE("an existing folder is kept unless overwrite is set, then fully replaced") {
  const std::string root = rein::testing::MakeTempDir("checkpoint_save");
  const std::string dir = root + "/ckpt";
  SaveOptions options;
  options.max_shard_bytes = 100;
  REQUIRE(SaveHfCheckpoint(dir, kConfig, SmallModel(), options).ok());
  const std::set<std::string> sharded = Entries(dir);

  const json other = {{"model_type", "qwen2"}};
  const absl::Status refused = SaveHfCheckpoint(dir, other, SmallModel());
  CHECK(refused.code() == absl::StatusCode::kAlreadyExists);
  CHECK(Entries(dir) == sharded);

  SaveOptions overwrite;
  overwrite.overwrite = true;
  REQUIRE(SaveHfCheckpoint(dir, other, SmallModel(), overwrite).ok());
  // The old shards are gone, not mixed with the new single file.
  CHECK(Entries(dir) == std::set<std::string>{"config.json", "model.safetensors"});
  const auto loaded = LoadHfCheckpoint(dir);
  REQUIRE(loaded.ok());
  CHECK(loaded->config == other);
  CHECK(Entries(root) == std::set<std::string>{"ckpt"});
  fs::remove_all(root);
}

TEST_CASE("a failed save leaves no folder and no temporary folder behind") {
  const std::string root = rein::testing::MakeTempDir("checkpoint_save");
  const at::Tensor square = at::randn({4, 4});
  const std::vector<std::pair<std::string, NamedTensors>> cases = {
      {"'transposed'", {{"ok", at::ones({2})}, {"transposed", square.t()}}},
      {"'late'", {{"ok", at::ones({64})}, {"late", square.t()}}},  // Fails in the second shard.
      {"'dup'", {{"dup", at::ones({1})}, {"dup", at::ones({1})}}},
      {"'undefined'", {{"undefined", at::Tensor()}}}};
  SaveOptions options;
  options.max_shard_bytes = 64;
  for (const auto& [culprit, tensors] : cases) {
    INFO(culprit);
    const absl::Status status = SaveHfCheckpoint(root + "/ckpt", kConfig, tensors, options);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::Contains(culprit));
    CHECK(Entries(root).empty());
  }
  fs::remove_all(root);
}

TEST_CASE("a failed overwrite leaves the old checkpoint intact") {
  const std::string root = rein::testing::MakeTempDir("checkpoint_save");
  const std::string dir = root + "/ckpt";
  REQUIRE(SaveHfCheckpoint(dir, kConfig, SmallModel()).ok());
  const std::string before = ReadBytes(dir + "/model.safetensors");
  SaveOptions overwrite;
  overwrite.overwrite = true;
  const NamedTensors bad = {{"bad", at::randn({3, 3}).t()}};
  CHECK_FALSE(SaveHfCheckpoint(dir, kConfig, bad, overwrite).ok());
  CHECK(ReadBytes(dir + "/model.safetensors") == before);
  CHECK(Entries(root) == std::set<std::string>{"ckpt"});
  fs::remove_all(root);
}

TEST_CASE("an unwritable parent fails naming the path and creates nothing") {
  const std::string root = rein::testing::MakeTempDir("checkpoint_save");
  const std::string file = root + "/plain_file";
  REQUIRE(files::WriteFileAtomically(file, [](int) { return absl::OkStatus(); }).ok());
  const absl::Status status = SaveHfCheckpoint(file + "/ckpt", kConfig, SmallModel());
  CHECK_FALSE(status.ok());
  CHECK_THAT(std::string(status.message()), Catch::Contains(file + "/ckpt"));
  CHECK(Entries(root) == std::set<std::string>{"plain_file"});
  fs::remove_all(root);
}

}  // namespace
}  // namespace rein::checkpoint
