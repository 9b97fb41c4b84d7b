// Chunk reassembly (common/tensor/chunking.h): a stream of rein.v1.TensorChunk, each in protobuf
// text format, separated by lines "---". A chunk whose checksum is left out (0) gets the right
// one, so that the fuzzer gets past checksum checks; any other checksum is kept as written.
//
// Promised and checked: Add() and Finish() only fail with the documented codes; a set that
// finishes holds exactly the bytes the stream sent, tensor by tensor; reassembling the same
// stream into the finished set as the recycled destination gives the same set again.
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/tensor/chunking.h"
#include "common/tensor/internal/checksum.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using rein::tensor::AssemblerOptions;
using rein::tensor::ChunkAssembler;
using rein::tensor::TensorSet;
using rein::v1::TensorChunk;

// Limits small enough that no stream makes the fuzzer allocate more than a few MiB.
AssemblerOptions SmallLimits() {
  AssemblerOptions options;
  options.max_total_bytes = int64_t{4} << 20;
  options.max_chunk_bytes = int64_t{64} << 10;
  options.max_tensors = 64;
  options.decode_limits.max_elements = int64_t{1} << 20;
  return options;
}

bool ParseStream(absl::string_view text, std::vector<TensorChunk>* chunks) {
  for (absl::string_view part : absl::StrSplit(text, "\n---\n")) {
    TensorChunk& chunk = chunks->emplace_back();
    if (!google::protobuf::TextFormat::ParseFromString(std::string(part), &chunk)) return false;
    if (chunk.checksum() == 0) {
      std::string copy;
      chunk.set_checksum(rein::tensor::internal::AssignAndChecksum(chunk.data().data(),
                                                                   chunk.data().size(), &copy));
    }
  }
  return true;
}

bool DocumentedError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<TensorSet> Assemble(const std::vector<TensorChunk>& chunks, TensorSet recycled) {
  absl::StatusOr<std::unique_ptr<ChunkAssembler>> assembler =
      ChunkAssembler::Create(SmallLimits(), std::move(recycled));
  FUZZ_CHECK(assembler.ok());
  for (const TensorChunk& chunk : chunks) {
    if (absl::Status added = (*assembler)->Add(chunk); !added.ok()) {
      FUZZ_CHECK(DocumentedError(added));
      // Poisoned: every later call repeats the first error.
      FUZZ_CHECK((*assembler)->Finish().status() == added);
      return added;
    }
  }
  absl::StatusOr<TensorSet> set = (*assembler)->Finish();
  FUZZ_CHECK(set.ok() || DocumentedError(set.status()));
  return set;
}

// The bytes the stream sent for tensor `index`, in offset order (Add accepted them in order).
std::string SentBytes(const std::vector<TensorChunk>& chunks, uint32_t index) {
  std::string bytes;
  for (const TensorChunk& chunk : chunks) {
    if (chunk.tensor_index() == index) bytes += chunk.data();
  }
  return bytes;
}

std::string TensorBytes(const at::Tensor& t) {
  return std::string(static_cast<const char*>(t.data_ptr()), t.nbytes());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<TensorChunk> chunks;
  if (!ParseStream(rein::fuzz::AsText(data, size), &chunks)) return -1;
  absl::StatusOr<TensorSet> set = Assemble(chunks, {});
  if (!set.ok()) return 0;

  FUZZ_CHECK(!chunks.empty());
  FUZZ_CHECK(set->policy_version == chunks.front().policy_version());
  FUZZ_CHECK(set->tensors.size() == chunks.front().tensor_count());
  std::vector<std::string> sent;
  for (uint32_t i = 0; i < set->tensors.size(); ++i) {
    sent.push_back(SentBytes(chunks, i));
    FUZZ_CHECK(TensorBytes(set->tensors[i].second) == sent.back());
  }
  absl::StatusOr<TensorSet> again = Assemble(chunks, std::move(*set));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->tensors.size() == sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    FUZZ_CHECK(TensorBytes(again->tensors[i].second) == sent[i]);
  }
  return 0;
}
