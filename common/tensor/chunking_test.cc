// Round trips and the sender side of chunking.h; faults are in chunking_faults_test.cc.
#include "common/tensor/chunking.h"

#include <ATen/ops/zeros.h>
#include <xxhash.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/tensor/internal/chunking_test_helpers.h"
#include "common/tensor/internal/test_helpers.h"

namespace rein::tensor {
namespace {

using ::rein::tensor::testing::Assemble;
using ::rein::tensor::testing::CheckIdentical;
using ::rein::tensor::testing::Find;
using ::rein::tensor::testing::kInvalid;
using ::rein::tensor::testing::kVersion;
using ::rein::tensor::testing::MakeSet;
using ::rein::tensor::testing::Sample;
using ::rein::tensor::testing::Split;
using ::rein::v1::TensorChunk;

TEST_CASE("a tensor set round-trips at every chunk size") {
  const std::vector<NamedTensor> set = MakeSet();
  const int64_t chunk_bytes = GENERATE(1, 3, 7, 64, 1000, 1628, 4096, int64_t{4} << 20);
  INFO("chunk_bytes " << chunk_bytes);
  const std::vector<TensorChunk> chunks = Split(set, chunk_bytes);

  absl::StatusOr<TensorSet> assembled = Assemble(chunks);
  REIN_REQUIRE_OK(assembled);
  CHECK(assembled->policy_version == kVersion);
  REQUIRE(assembled->tensors.size() == set.size());
  for (size_t i = 0; i < set.size(); ++i) {
    INFO(set[i].first);
    CHECK(assembled->tensors[i].first == set[i].first);
    CheckIdentical(assembled->tensors[i].second, set[i].second);
  }
}

TEST_CASE("every chunk carries the full metadata and a valid checksum") {
  const std::vector<NamedTensor> set = MakeSet();
  const std::vector<TensorChunk> chunks = Split(set, 10);
  uint64_t expected_offset = 0;
  for (const TensorChunk& chunk : chunks) {
    const at::Tensor& t = set[chunk.tensor_index()].second;
    CHECK(chunk.policy_version() == kVersion);
    CHECK(chunk.tensor_count() == set.size());
    CHECK(chunk.tensor_name() == set[chunk.tensor_index()].first);
    CHECK(chunk.dtype() == *ToProtoDType(t.scalar_type()));
    CHECK(std::vector<int64_t>(chunk.shape().begin(), chunk.shape().end()) == t.sizes().vec());
    CHECK(chunk.total_bytes() == t.nbytes());
    CHECK(chunk.data().size() <= 10);
    CHECK(chunk.checksum() == XXH3_64bits(chunk.data().data(), chunk.data().size()));
    if (chunk.offset() == 0) expected_offset = 0;
    CHECK(chunk.offset() == expected_offset);
    expected_offset += chunk.data().size();
  }
  // 1628 bytes in chunks of 10 -> 163 chunks; 14 -> 2; empty -> 1; 8 -> 1; 15 -> 2; 96 -> 10.
  CHECK(chunks.size() == 163 + 2 + 1 + 1 + 2 + 10);
  const TensorChunk& empty = chunks[Find(chunks, 2, 0)];
  CHECK(empty.data().empty());
  CHECK(empty.total_bytes() == 0);
}

TEST_CASE("checksums match XXH3 for chunks spanning many hash blocks") {
  // 1 MiB + 12 bytes in chunks of 300001 bytes: chunks cross the checksum's internal 64 KiB
  // blocks at odd offsets, and the last chunk is short.
  const std::vector<NamedTensor> set = {{"w", Sample(at::kFloat, {262147})}};
  const std::vector<TensorChunk> chunks = Split(set, 300001);
  REQUIRE(chunks.size() == 4);
  for (const TensorChunk& chunk : chunks) {
    CHECK(chunk.checksum() == XXH3_64bits(chunk.data().data(), chunk.data().size()));
  }
  absl::StatusOr<TensorSet> assembled = Assemble(chunks);
  REIN_REQUIRE_OK(assembled);
  CheckIdentical(assembled->tensors[0].second, set[0].second);
}

TEST_CASE("a set with tensors above the huge-page threshold round-trips") {
  const std::vector<NamedTensor> set = {{"embed", Sample(at::kDouble, {4097, 1024})},
                                        {"norm", Sample(at::kFloat, {2048})}};
  absl::StatusOr<TensorSet> assembled = Assemble(Split(set, int64_t{4} << 20));
  REIN_REQUIRE_OK(assembled);
  for (size_t i = 0; i < set.size(); ++i) {
    CheckIdentical(assembled->tensors[i].second, set[i].second);
  }
}

TEST_CASE("the sender reuses one chunk message and stops at the first sink error") {
  const std::vector<NamedTensor> set = MakeSet();
  std::vector<const TensorChunk*> seen;
  const absl::Status status =
      SplitTensorSet(kVersion, set, SplitOptions{100}, [&](const TensorChunk& chunk) {
        seen.push_back(&chunk);
        return seen.size() == 3 ? absl::UnavailableError("stream broken") : absl::OkStatus();
      });
  CHECK(status == absl::UnavailableError("stream broken"));
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == seen[1]);
  CHECK(seen[1] == seen[2]);
}

TEST_CASE("the sender refuses a set the receiver would reject, before sending anything") {
  std::vector<NamedTensor> set = MakeSet();
  SplitOptions options;
  std::string expected;
  SECTION("empty set") {
    set.clear();
    expected = "tensor set is empty";
  }
  SECTION("empty name") {
    set[1].first.clear();
    expected = "tensors[1] '': empty name";
  }
  SECTION("duplicate name") {
    set[3].first = "embed";
    expected = "tensors[3] 'embed': duplicate name";
  }
  SECTION("a dtype the wire does not carry") {
    set[4].second = at::zeros({2}, at::kComplexDouble);
    expected = "tensors[4] 'mask': scalar type ComplexDouble has no wire dtype";
  }
  SECTION("undefined tensor") {
    set[5].second = at::Tensor();
    expected = "tensors[5] 'proj.T': undefined tensor";
  }
  SECTION("non-positive chunk size") {
    options.chunk_bytes = 0;
    expected = "chunk_bytes must be positive";
  }
  int sent = 0;
  REIN_CHECK_ERROR(SplitTensorSet(kVersion, set, options,
                                  [&](const TensorChunk&) {
                                    ++sent;
                                    return absl::OkStatus();
                                  }),
                   kInvalid, expected);
  CHECK(sent == 0);
}

TEST_CASE("a finished assembler refuses further use") {
  const std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  std::unique_ptr<ChunkAssembler> assembler = *ChunkAssembler::Create({});
  for (const TensorChunk& chunk : chunks) REIN_REQUIRE_OK(assembler->Add(chunk));
  CHECK(assembler->bytes_received() == 1628 + 14 + 0 + 8 + 15 + 96);
  REIN_REQUIRE_OK(assembler->Finish());
  CHECK(assembler->Finish().status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(assembler->Add(chunks[0]).code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Create rejects non-positive limits") {
  AssemblerOptions options;
  SECTION("max_total_bytes") { options.max_total_bytes = 0; }
  SECTION("max_chunk_bytes") { options.max_chunk_bytes = -1; }
  SECTION("max_tensors") { options.max_tensors = 0; }
  SECTION("max_elements") { options.decode_limits.max_elements = 0; }
  REIN_CHECK_ERROR(ChunkAssembler::Create(options), kInvalid, "must all be positive");
}

}  // namespace
}  // namespace rein::tensor
