// The tensor codec (common/tensor/codec.h) on a rein.v1.Tensor written in protobuf text format
// (readable seeds; the binary wire parse is protobuf's own). A message either decodes or is
// INVALID_ARGUMENT; a decoded tensor encodes back to the same dtype, shape and bytes.
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/tensor/codec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rein::v1::Tensor message;
  if (!google::protobuf::TextFormat::ParseFromString(std::string(rein::fuzz::AsText(data, size)),
                                                     &message)) {
    return -1;  // not a message: keep it out of the corpus
  }
  // Small enough that no input makes the fuzzer allocate more than a few MiB.
  const rein::tensor::DecodeLimits limits{.max_elements = int64_t{1} << 20};
  absl::StatusOr<at::Tensor> tensor = rein::tensor::DecodeTensor(message, limits, "fuzz");
  if (!tensor.ok()) {
    FUZZ_CHECK(tensor.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  rein::v1::Tensor encoded;
  FUZZ_CHECK(rein::tensor::EncodeTensor(*tensor, &encoded).ok());
  FUZZ_CHECK(encoded.dtype() == message.dtype());
  FUZZ_CHECK(encoded.shape_size() == message.shape_size());
  for (int i = 0; i < message.shape_size(); ++i) {
    FUZZ_CHECK(encoded.shape(i) == message.shape(i));
  }
  FUZZ_CHECK(encoded.data() == message.data());
  return 0;
}
