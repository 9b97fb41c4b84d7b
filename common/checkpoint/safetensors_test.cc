// SafetensorsFile on the golden checkpoints, and WriteSafetensors round trips and byte layout.
#include "common/checkpoint/safetensors.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>

#include "common/files/file_util.h"
#include "common/testing/subprocess.h"

namespace rein::checkpoint {
namespace {

std::string Golden(const std::string& relative) {
  return rein::testing::SourcePath("tests/data/models/" + relative);
}

std::string ReadBytes(const std::string& path) {
  auto contents = files::ReadFile(path);
  REQUIRE(contents.ok());
  return *contents;
}

std::vector<int64_t> Shape(const at::Tensor& t) { return t.sizes().vec(); }

// Byte-for-byte equality, which also tells NaN payloads and -0.0 apart.
bool SameBytes(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) == 0);
}

TEST_CASE("every golden safetensors file opens and every tensor matches its entry") {
  int files = 0;
  for (const auto& folder : std::filesystem::directory_iterator(Golden(""))) {
    if (!folder.is_directory()) continue;
    for (const auto& file : std::filesystem::directory_iterator(folder.path())) {
      if (file.path().extension() != ".safetensors") continue;
      ++files;
      auto opened = SafetensorsFile::Open(file.path().string());
      INFO(file.path().string());
      REQUIRE(opened.ok());
      const SafetensorsFile& st = **opened;
      CHECK(st.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
      REQUIRE_FALSE(st.names().empty());
      for (const std::string& name : st.names()) {
        const auto entry = st.entry(name);
        const auto tensor = st.Get(name);
        REQUIRE(entry.ok());
        REQUIRE(tensor.ok());
        CHECK(tensor->scalar_type() == entry->dtype);
        CHECK(Shape(*tensor) == entry->shape);
        CHECK(tensor->is_contiguous());
      }
    }
  }
  CHECK(files == 8);
}

TEST_CASE("golden tensors have the expected dtypes and shapes") {
  auto gpt2 = SafetensorsFile::Open(Golden("tiny-gpt2/model.safetensors"));
  REQUIRE(gpt2.ok());
  CHECK((*gpt2)->names().size() == 28);
  auto wte = (*gpt2)->Get("transformer.wte.weight");
  REQUIRE(wte.ok());
  CHECK(wte->scalar_type() == at::kFloat);
  CHECK(Shape(*wte) == std::vector<int64_t>{1000, 64});
  CHECK(wte->abs().sum().item<float>() > 0.0f);

  auto shard =
      SafetensorsFile::Open(Golden("tiny-llama-bf16-sharded/model-00001-of-00002.safetensors"));
  REQUIRE(shard.ok());
  auto embed = (*shard)->Get("model.embed_tokens.weight");
  REQUIRE(embed.ok());
  CHECK(embed->scalar_type() == at::kBFloat16);
  CHECK(Shape(*embed) == std::vector<int64_t>{1000, 64});
  CHECK(std::isfinite(embed->to(at::kFloat).sum().item<float>()));
}

TEST_CASE("a tensor stays valid after its file object is destroyed") {
  at::Tensor weight;
  {
    auto st = SafetensorsFile::Open(Golden("tiny-llama/model.safetensors"));
    REQUIRE(st.ok());
    auto t = (*st)->Get("model.norm.weight");
    REQUIRE(t.ok());
    weight = *t;
  }
  CHECK(Shape(weight) == std::vector<int64_t>{64});
  CHECK(std::isfinite(weight.sum().item<float>()));
  // Copy-on-write mapping: in-place updates work and never reach the file.
  weight.add_(1.0f);
}

TEST_CASE("unknown tensor name is NOT_FOUND naming file and tensor") {
  auto st = SafetensorsFile::Open(Golden("tiny-llama/model.safetensors"));
  REQUIRE(st.ok());
  const auto t = (*st)->Get("no.such.weight");
  REQUIRE(t.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(t.status().message()),
             Catch::Contains("no.such.weight") && Catch::Contains("tiny-llama/model.safetensors"));
}

TEST_CASE("missing file is NOT_FOUND naming the path") {
  const auto st = SafetensorsFile::Open("/nonexistent/x.safetensors");
  REQUIRE(st.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(st.status().message()), Catch::Contains("/nonexistent/x.safetensors"));
}

TEST_CASE("write then read is bit-exact for every dtype, 0-d and empty tensors") {
  const std::string dir = rein::testing::MakeTempDir("checkpoint_st");
  const std::string path = dir + "/t.safetensors";
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f32", at::randn({3, 5})},
      {"f32_special", at::tensor({-0.0f, std::numeric_limits<float>::infinity(),
                                  std::numeric_limits<float>::quiet_NaN(), 1e-40f})},
      {"f16", at::randn({7}).to(at::kHalf)},
      {"bf16", at::randn({2, 3, 4}).to(at::kBFloat16)},
      {"f64", at::randn({2}, at::kDouble)},
      {"i64", at::arange(-5, 6, at::kLong)},
      {"i32", at::arange(0, 9, at::kInt).reshape({3, 3})},
      {"i8", at::arange(-3, 3, at::kChar)},
      {"u8", at::arange(0, 255, at::kByte)},
      {"bool", at::arange(0, 5, at::kLong).remainder(2).to(at::kBool)},
      {"scalar", at::tensor(3.5f).reshape({})},
      {"scalar_i64", at::tensor(int64_t{-7}).reshape({})},
      {"empty", at::zeros({0, 4})},
      {"empty_bf16", at::zeros({3, 0}, at::kBFloat16)},
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"step", "12"}};
  REQUIRE(WriteSafetensors(path, tensors, metadata).ok());

  auto st = SafetensorsFile::Open(path);
  REQUIRE(st.ok());
  CHECK((*st)->metadata() == metadata);
  CHECK((*st)->names().size() == tensors.size());
  for (const auto& [name, expected] : tensors) {
    INFO(name);
    auto got = (*st)->Get(name);
    REQUIRE(got.ok());
    CHECK(Shape(*got) == Shape(expected));
    CHECK(SameBytes(*got, expected));
  }
  // Larger elements come first, so every view is aligned to its element size.
  for (const std::string& name : (*st)->names()) {
    auto entry = (*st)->entry(name);
    REQUIRE(entry.ok());
    CHECK(entry->begin % c10::elementSize(entry->dtype) == 0);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("writer reproduces a golden file byte for byte") {
  const std::string dir = rein::testing::MakeTempDir("checkpoint_st");
  for (const std::string golden : {"tiny-gpt2/model.safetensors",
                                   "tiny-llama-bf16-sharded/model-00001-of-00002.safetensors"}) {
    INFO(golden);
    auto st = SafetensorsFile::Open(Golden(golden));
    REQUIRE(st.ok());
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    // Reverse order: the writer's layout must not depend on the caller's order.
    for (auto it = (*st)->names().rbegin(); it != (*st)->names().rend(); ++it) {
      auto t = (*st)->Get(*it);
      REQUIRE(t.ok());
      tensors.emplace_back(*it, *t);
    }
    const std::string out = dir + "/out.safetensors";
    REQUIRE(WriteSafetensors(out, tensors, (*st)->metadata()).ok());
    const std::string written = ReadBytes(out);
    const std::string expected = ReadBytes(Golden(golden));
    CHECK(written.size() == expected.size());
    CHECK(written.substr(0, 200) == expected.substr(0, 200));
    CHECK(written == expected);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("writer header is 8-byte aligned JSON with contiguous offsets") {
  const std::string dir = rein::testing::MakeTempDir("checkpoint_st");
  const std::string path = dir + "/t.safetensors";
  REQUIRE(WriteSafetensors(path, {{"a", at::zeros({3}, at::kByte)}, {"b", at::zeros({1})}}).ok());
  const std::string bytes = ReadBytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  CHECK(bytes.size() == 8 + n + 4 + 3);
  const std::string header = bytes.substr(8, n);
  CHECK(header.rfind(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                     R"("a":{"dtype":"U8","shape":[3],"data_offsets":[4,7]}})",
                     0) == 0);
  CHECK(header.find_last_not_of(' ') + 1 == header.find(' ', header.rfind('}')));
  std::filesystem::remove_all(dir);
}

TEST_CASE("writer refuses bad tensors and names before touching the file") {
  const std::string dir = rein::testing::MakeTempDir("checkpoint_st");
  const std::string path = dir + "/t.safetensors";
  REQUIRE(WriteSafetensors(path, {{"keep", at::ones({2})}}).ok());
  const std::string before = ReadBytes(path);
  const at::Tensor square = at::randn({3, 3});
  const std::vector<std::pair<std::string, std::vector<std::pair<std::string, at::Tensor>>>> cases =
      {{"transposed", {{"transposed", square.t()}}},
       {"undef", {{"undef", at::Tensor()}}},
       {"cplx", {{"cplx", at::randn({2}, at::kComplexFloat)}}},
       {"dup", {{"dup", at::ones({1})}, {"dup", at::ones({1})}}},
       {"__metadata__", {{"__metadata__", at::ones({1})}}}};
  for (const auto& [culprit, tensors] : cases) {
    INFO(culprit);
    const absl::Status status = WriteSafetensors(path, tensors);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::Contains("'" + culprit + "'"));
  }
  CHECK(ReadBytes(path) == before);
  // No temporary files left behind.
  CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("writing into a missing folder fails naming the path") {
  const absl::Status status =
      WriteSafetensors("/nonexistent/dir/t.safetensors", {{"a", at::ones({1})}});
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(status.message()), Catch::Contains("/nonexistent/dir/t.safetensors"));
}

}  // namespace
}  // namespace rein::checkpoint
