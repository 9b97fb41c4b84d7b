// LoadHfCheckpoint on the golden folders and on broken copies of the sharded one, and
// CheckTensorNames.
#include "common/checkpoint/hf_checkpoint.h"

#include <ATen/ops/equal.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "common/files/file_util.h"
#include "common/testing/subprocess.h"

namespace rein::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kSharded[] = "tiny-llama-bf16-sharded";
constexpr char kShard1[] = "model-00001-of-00002.safetensors";
constexpr char kShard2[] = "model-00002-of-00002.safetensors";

std::string Golden(const std::string& folder) {
  return rein::testing::SourcePath("tests/data/models/" + folder);
}

const NameFilter kGpt2Buffers{{}, {".attn.bias", ".attn.masked_bias"}};

// A writable copy of a golden folder, removed at the end of the test.
class FolderCopy {
 public:
  explicit FolderCopy(const std::string& golden)
      : root_(rein::testing::MakeTempDir("checkpoint_hf")), dir_(root_ + "/model") {
    fs::copy(Golden(golden), dir_);
    for (const auto& f : fs::directory_iterator(dir_)) {
      fs::permissions(f.path(), fs::perms::owner_write, fs::perm_options::add);
    }
  }
  ~FolderCopy() { fs::remove_all(root_); }

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  json ReadIndex() const {
    auto text = files::ReadFile(path("model.safetensors.index.json"));
    REQUIRE(text.ok());
    return json::parse(*text);
  }
  void WriteFile(const std::string& name, const std::string& text) const {
    const std::string p = path(name);
    REQUIRE(files::WriteFileAtomically(p, [&](int fd) {
              return files::WriteAll(fd, text.data(), text.size(), p);
            }).ok());
  }
  void WriteIndex(const json& index) const {
    WriteFile("model.safetensors.index.json", index.dump());
  }

 private:
  std::string root_;
  std::string dir_;
};

// Loads `dir` expecting `code` and a message containing every needle.
void ExpectLoadError(const std::string& dir, absl::StatusCode code,
                     const std::vector<std::string>& needles) {
  const auto loaded = LoadHfCheckpoint(dir);
  REQUIRE_FALSE(loaded.ok());
  const std::string message(loaded.status().message());
  INFO(message);
  CHECK(loaded.status().code() == code);
  for (const std::string& needle : needles) CHECK_THAT(message, Catch::Contains(needle));
}

TEST_CASE("every golden folder loads with its config and float32 or bf16 tensors") {
  const std::map<std::string, std::pair<std::string, size_t>> expected = {
      {"tiny-gpt2", {"gpt2", 28}},   {"tiny-gpt2-legacy-names", {"gpt2", 28}},
      {"tiny-llama", {"llama", 21}}, {"tiny-llama3rope", {"llama", 20}},
      {"tiny-qwen2", {"qwen2", 26}}, {"tiny-qwen3", {"qwen3", 25}},
      {kSharded, {"llama", 21}}};
  for (const auto& [folder, want] : expected) {
    INFO(folder);
    LoadOptions options;
    options.ignore = kGpt2Buffers;
    const auto loaded = LoadHfCheckpoint(Golden(folder), options);
    REQUIRE(loaded.ok());
    CHECK(loaded->config.at("model_type") == want.first);
    CHECK(loaded->tensors.size() == want.second);
    const at::ScalarType dtype = folder == kSharded ? at::kBFloat16 : at::kFloat;
    for (const auto& [name, tensor] : loaded->tensors) {
      INFO(name);
      CHECK(tensor.scalar_type() == dtype);
      CHECK(tensor.is_contiguous());
    }
  }
}

TEST_CASE("sharded bf16 checkpoint loads both shards with the index's names and shapes") {
  const auto loaded = LoadHfCheckpoint(Golden(kSharded));
  REQUIRE(loaded.ok());
  const auto& t = loaded->tensors;
  REQUIRE(t.count("lm_head.weight") == 1);             // In shard 2.
  REQUIRE(t.count("model.embed_tokens.weight") == 1);  // In shard 1.
  CHECK(t.at("lm_head.weight").sizes().vec() == std::vector<int64_t>{1000, 64});
  CHECK(t.at("model.layers.1.mlp.down_proj.weight").sizes().vec() == std::vector<int64_t>{64, 176});
  CHECK(t.at("model.norm.weight").sizes().vec() == std::vector<int64_t>{64});
}

TEST_CASE("dtype option converts floating tensors exactly") {
  LoadOptions options;
  options.dtype = at::kFloat;
  const auto f32 = LoadHfCheckpoint(Golden(kSharded), options);
  const auto bf16 = LoadHfCheckpoint(Golden(kSharded));
  REQUIRE(f32.ok());
  REQUIRE(bf16.ok());
  for (const auto& [name, tensor] : f32->tensors) {
    INFO(name);
    CHECK(tensor.scalar_type() == at::kFloat);
    CHECK(at::equal(tensor, bf16->tensors.at(name).to(at::kFloat)));
  }
}

TEST_CASE("ignore filter drops GPT-2 legacy buffers and nothing else") {
  const auto all = LoadHfCheckpoint(Golden("tiny-gpt2-legacy-names"));
  REQUIRE(all.ok());
  CHECK(all->tensors.size() == 32);
  CHECK(all->tensors.count("h.0.attn.masked_bias") == 1);
  LoadOptions options;
  options.ignore = kGpt2Buffers;
  const auto kept = LoadHfCheckpoint(Golden("tiny-gpt2-legacy-names"), options);
  REQUIRE(kept.ok());
  CHECK(kept->tensors.count("h.0.attn.bias") == 0);
  CHECK(kept->tensors.count("h.1.attn.masked_bias") == 0);
  CHECK(kept->tensors.count("h.0.attn.c_attn.bias") == 1);
  CHECK(NameFilter{{"h.0."}, {}}.Matches("h.0.ln_1.weight"));
  CHECK_FALSE(NameFilter{{"h.0."}, {}}.Matches("h.10.ln_1.weight"));
}

TEST_CASE("index entry pointing at a missing shard names tensor and file") {
  FolderCopy copy(kSharded);
  json index = copy.ReadIndex();
  index["weight_map"]["model.norm.weight"] = "model-00003-of-00003.safetensors";
  copy.WriteIndex(index);
  ExpectLoadError(copy.dir(), absl::StatusCode::kNotFound,
                  {"'model.norm.weight'", "model-00003-of-00003.safetensors"});
}

TEST_CASE("index entry for a tensor its shard lacks names tensor and shard") {
  FolderCopy copy(kSharded);
  json index = copy.ReadIndex();
  index["weight_map"]["model.layers.7.ghost.weight"] = kShard1;
  copy.WriteIndex(index);
  ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument,
                  {"'model.layers.7.ghost.weight'", kShard1, "lacks it"});
}

TEST_CASE("shard tensor absent from the index is an error") {
  FolderCopy copy(kSharded);
  json index = copy.ReadIndex();
  index["weight_map"].erase("model.norm.weight");
  copy.WriteIndex(index);
  ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument,
                  {"'model.norm.weight'", kShard2, "does not list"});
}

TEST_CASE("index mapping a tensor to the wrong shard is an error") {
  FolderCopy copy(kSharded);
  json index = copy.ReadIndex();
  // The tensor lives in shard 2; shard 1 lacks it.
  index["weight_map"]["model.norm.weight"] = kShard1;
  copy.WriteIndex(index);
  ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument, {"'model.norm.weight'", kShard1});
}

TEST_CASE("malformed index files") {
  FolderCopy copy(kSharded);
  copy.WriteFile("model.safetensors.index.json", "{\"weight_map\": ");
  ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument,
                  {"model.safetensors.index.json", "not valid JSON"});
  copy.WriteIndex(json{{"metadata", json::object()}});
  ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument, {"'weight_map' missing"});
  copy.WriteIndex(json{{"weight_map", {{"lm_head.weight", 3}}}});
  ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument,
                  {"weight_map['lm_head.weight'] is not a string"});
  copy.WriteIndex(json{{"weight_map", {{"lm_head.weight", "../model.safetensors"}}}});
  ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument,
                  {"'lm_head.weight'", "../model.safetensors", "not a file name"});
}

TEST_CASE("corrupt shard is reported with the shard's path") {
  FolderCopy copy(kSharded);
  copy.WriteFile(kShard2, std::string("\x10\0\0\0\0\0\0\0{\"a\":", 13));
  ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument, {kShard2});
}

TEST_CASE("missing config or weights is NOT_FOUND") {
  {
    FolderCopy copy("tiny-llama");
    fs::remove(copy.path("config.json"));
    ExpectLoadError(copy.dir(), absl::StatusCode::kNotFound, {"config.json"});
  }
  {
    FolderCopy copy("tiny-llama");
    fs::remove(copy.path("model.safetensors"));
    ExpectLoadError(copy.dir(), absl::StatusCode::kNotFound,
                    {"model.safetensors", "model.safetensors.index.json"});
  }
  {
    FolderCopy copy("tiny-llama");
    copy.WriteFile("config.json", "{\"model_type\": ");
    ExpectLoadError(copy.dir(), absl::StatusCode::kInvalidArgument, {"config.json", "JSON"});
  }
}

TEST_CASE("CheckTensorNames lists missing and unexpected names in one message") {
  const std::map<std::string, at::Tensor> got = {
      {"a", at::zeros({1})},      {"b", at::zeros({1})},      {"x.attn.bias", at::zeros({1})},
      {"extra1", at::zeros({1})}, {"extra2", at::zeros({1})}, {"extra3", at::zeros({1})}};
  CHECK(CheckTensorNames({"a", "b"}, got, kGpt2Buffers).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CheckTensorNames({"a", "b", "extra1", "extra2", "extra3"}, got, kGpt2Buffers).ok());

  const absl::Status status =
      CheckTensorNames({"a", "b", "m1", "m2"}, got, kGpt2Buffers, /*max_listed=*/2);
  const std::string message(status.message());
  INFO(message);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(message, Catch::Contains("2 missing (m1, m2)"));
  CHECK_THAT(message, Catch::Contains("3 unexpected (extra1, extra2 and 1 more)"));
  CHECK_THAT(message, !Catch::Contains("attn.bias"));
}

}  // namespace
}  // namespace rein::checkpoint
