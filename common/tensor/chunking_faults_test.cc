// Every stream fault ChunkAssembler must detect (see the class comment in chunking.h).
#include "common/tensor/chunking.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/tensor/internal/chunking_test_helpers.h"
#include "common/tensor/internal/test_helpers.h"

namespace rein::tensor {
namespace {

using ::rein::tensor::testing::Assemble;
using ::rein::tensor::testing::Find;
using ::rein::tensor::testing::kDataLoss;
using ::rein::tensor::testing::kInvalid;
using ::rein::tensor::testing::kVersion;
using ::rein::tensor::testing::MakeSet;
using ::rein::tensor::testing::Reseal;
using ::rein::tensor::testing::Split;
using ::rein::v1::TensorChunk;

TEST_CASE("a missing chunk is DATA_LOSS naming tensor and offset") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  SECTION("in the middle of a tensor") {
    chunks.erase(chunks.begin() + Find(chunks, 0, 300));
    REIN_CHECK_ERROR(Assemble(chunks), kDataLoss,
                     "tensor 0 'embed' offset 400: missing chunk: expected offset 300");
  }
  SECTION("at the end of a tensor") {
    chunks.erase(chunks.begin() + Find(chunks, 0, 1600));
    REIN_CHECK_ERROR(Assemble(chunks), kDataLoss,
                     "tensor 0 'embed' is incomplete (1600 of 1628 bytes received)");
  }
  SECTION("a whole tensor") {
    chunks.erase(chunks.begin() + Find(chunks, 3, 0));
    REIN_CHECK_ERROR(Assemble(chunks), kDataLoss,
                     "tensor 4 'mask' offset 0: expected tensor 3: missing or reordered tensor");
  }
}

TEST_CASE("a duplicated chunk is INVALID_ARGUMENT") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  SECTION("inside a tensor") {
    const size_t i = Find(chunks, 0, 200);
    chunks.insert(chunks.begin() + i + 1, chunks[i]);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid,
                     "tensor 0 'embed' offset 200: duplicated or overlapping chunk: expected "
                     "offset 300");
  }
  SECTION("the last chunk of a tensor") {
    const size_t i = Find(chunks, 1, 0);
    chunks.insert(chunks.begin() + i + 1, chunks[i]);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid,
                     "tensor 1 'bias' offset 0: tensor 1 is already complete");
  }
  SECTION("overlapping a previous chunk") {
    TensorChunk& chunk = chunks[Find(chunks, 0, 500)];
    chunk.set_offset(450);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid, "offset 450: duplicated or overlapping chunk");
  }
}

TEST_CASE("reordered chunks are detected") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  SECTION("two chunks of one tensor swapped") {
    std::swap(chunks[Find(chunks, 0, 100)], chunks[Find(chunks, 0, 200)]);
    REIN_CHECK_ERROR(Assemble(chunks), kDataLoss,
                     "tensor 0 'embed' offset 200: missing chunk: expected offset 100");
  }
  SECTION("two tensors swapped") {
    std::swap(chunks[Find(chunks, 1, 0)], chunks[Find(chunks, 2, 0)]);
    REIN_CHECK_ERROR(Assemble(chunks), kDataLoss, "tensor 2 'empty' offset 0: expected tensor 1");
  }
  SECTION("an earlier tensor arriving again") {
    chunks.push_back(chunks[Find(chunks, 0, 0)]);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid, "tensor 0 is already complete");
  }
  SECTION("an index past tensor_count") {
    chunks[Find(chunks, 5, 0)].set_tensor_index(6);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid,
                     "tensor 6 'proj.T' offset 0: tensor_index out of range (tensor_count 6)");
  }
}

TEST_CASE("an oversized chunk is INVALID_ARGUMENT") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  SECTION("above max_chunk_bytes") {
    AssemblerOptions options;
    options.max_chunk_bytes = 99;
    REIN_CHECK_ERROR(Assemble(chunks, options), kInvalid,
                     "tensor 0 'embed' offset 0: chunk of 100 bytes exceeds max_chunk_bytes 99");
  }
  SECTION("running past total_bytes") {
    TensorChunk& last = chunks[Find(chunks, 0, 1600)];
    last.mutable_data()->append(8, 'x');
    Reseal(last);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid,
                     "tensor 0 'embed' offset 1600: chunk of 36 bytes runs past total_bytes 1628");
  }
  SECTION("data in an empty tensor") {
    TensorChunk& empty = chunks[Find(chunks, 2, 0)];
    empty.set_data("x");
    Reseal(empty);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid, "chunk of 1 bytes runs past total_bytes 0");
  }
  SECTION("an empty chunk in a non-empty tensor") {
    TensorChunk& chunk = chunks[Find(chunks, 0, 0)];
    chunk.clear_data();
    Reseal(chunk);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid, "empty chunk in a non-empty tensor");
  }
}

TEST_CASE("a corrupt chunk is DATA_LOSS") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  TensorChunk& chunk = chunks[Find(chunks, 0, 700)];
  (*chunk.mutable_data())[17] ^= 0x01;
  REIN_CHECK_ERROR(Assemble(chunks), kDataLoss,
                   "tensor 0 'embed' offset 700: checksum mismatch: chunk says ");
}

TEST_CASE("the stream header must not change mid-stream") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  TensorChunk& chunk = chunks[Find(chunks, 4, 0)];
  SECTION("policy_version") {
    chunk.set_policy_version(kVersion + 1);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid,
                     "tensor 4 'mask' offset 0: policy_version changed from 42 to 43 mid-stream");
  }
  SECTION("tensor_count") {
    chunk.set_tensor_count(7);
    REIN_CHECK_ERROR(Assemble(chunks), kInvalid, "tensor_count changed from 6 to 7 mid-stream");
  }
}

TEST_CASE("a tensor's metadata must not change between its chunks") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  TensorChunk& chunk = chunks[Find(chunks, 0, 500)];
  std::string expected;
  SECTION("name") {
    chunk.set_tensor_name("other");
    expected = "tensor 0 'other' offset 500: tensor_name changed from 'embed'";
  }
  SECTION("dtype") {
    chunk.set_dtype(rein::v1::DTYPE_I32);
    expected = "dtype changed from DTYPE_F32 to 5";
  }
  SECTION("shape") {
    chunk.set_shape(0, 11);
    chunk.set_shape(1, 37);
    expected = "shape changed from [37,11] to [11,37]";
  }
  SECTION("total_bytes") {
    chunk.set_total_bytes(1632);
    expected = "total_bytes changed from 1628 to 1632";
  }
  REIN_CHECK_ERROR(Assemble(chunks), kInvalid, expected);
}

TEST_CASE("a tensor's first chunk is checked against the limits before allocation") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  AssemblerOptions options;
  std::string expected;
  SECTION("duplicate name") {
    for (TensorChunk& chunk : chunks) {
      if (chunk.tensor_index() == 4) chunk.set_tensor_name("bias");
    }
    expected = "tensor 4 'bias' offset 0: duplicate tensor_name";
  }
  SECTION("negative dimension") {
    chunks[Find(chunks, 1, 0)].set_shape(0, -7);
    expected = "tensor 1 'bias' offset 0: chunk.shape[0]: negative dimension -7";
  }
  SECTION("unknown dtype") {
    chunks[Find(chunks, 1, 0)].set_dtype(rein::v1::DTYPE_UNSPECIFIED);
    expected = "chunk.dtype: unsupported dtype DTYPE_UNSPECIFIED (0)";
  }
  SECTION("element limit") {
    options.decode_limits.max_elements = 100;
    expected = "tensor 0 'embed' offset 0: chunk.shape: 407 elements exceed the limit of 100";
  }
  SECTION("total_bytes inconsistent with the shape") {
    for (TensorChunk& chunk : chunks) {
      if (chunk.tensor_index() == 1) chunk.set_total_bytes(28);
    }
    expected = "total_bytes 28, expected 14 (numel 7 x itemsize 2)";
  }
  SECTION("max_total_bytes") {
    options.max_total_bytes = 1640;
    expected = "tensor 1 'bias' offset 0: set grows to 1642 bytes, above max_total_bytes 1640";
  }
  SECTION("max_tensors") {
    options.max_tensors = 5;
    expected = "tensor_count 6 exceeds max_tensors 5";
  }
  REIN_CHECK_ERROR(Assemble(chunks, options), kInvalid, expected);
}

TEST_CASE("a truncated stream is DATA_LOSS at Finish and returns nothing") {
  std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  std::string expected;
  SECTION("no chunk at all") {
    chunks.clear();
    expected = "stream ended before its first chunk";
  }
  SECTION("inside a tensor") {
    chunks.resize(Find(chunks, 0, 900));
    expected = "stream ended inside tensor 0 'embed' at offset 900 of 1628 bytes";
  }
  SECTION("between tensors") {
    chunks.resize(Find(chunks, 4, 0));
    expected = "stream ended after 4 of 6 tensors: tensor 4 never arrived";
  }
  REIN_CHECK_ERROR(Assemble(chunks), kDataLoss, expected);
}

TEST_CASE("the first error poisons the assembler") {
  const std::vector<TensorChunk> chunks = Split(MakeSet(), 100);
  std::unique_ptr<ChunkAssembler> assembler = *ChunkAssembler::Create({});
  TensorChunk corrupt = chunks[0];
  corrupt.set_checksum(corrupt.checksum() + 1);
  const absl::Status first = assembler->Add(corrupt);
  REQUIRE(first.code() == kDataLoss);
  for (const TensorChunk& chunk : chunks) CHECK(assembler->Add(chunk) == first);
  CHECK(assembler->Finish().status() == first);
}

}  // namespace
}  // namespace rein::tensor
