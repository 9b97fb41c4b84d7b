// The safetensors reader (common/checkpoint/safetensors.h) on whole files: the 8-byte length,
// the JSON header and the data section. A file either opens or is INVALID_ARGUMENT; every tensor
// of a file that opens is handed out with the header's dtype and shape, and reading all its
// bytes stays inside the mapping (ASan would see a read past it).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "common/checkpoint/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// Touches every byte of `t` (through a copy: an unaligned view may not be read element-wise).
uint8_t FoldBytes(const at::Tensor& t) {
  std::string bytes(t.nbytes(), '\0');
  if (!bytes.empty()) std::memcpy(bytes.data(), t.data_ptr(), bytes.size());
  uint8_t folded = 0;
  for (char c : bytes) folded ^= static_cast<uint8_t>(c);
  return folded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      rein::fuzz::WriteScratchFile("model.safetensors", rein::fuzz::AsText(data, size));
  absl::StatusOr<std::unique_ptr<rein::checkpoint::SafetensorsFile>> file =
      rein::checkpoint::SafetensorsFile::Open(path);
  if (!file.ok()) {
    FUZZ_CHECK(file.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  volatile uint8_t sink = 0;
  for (const std::string& name : (*file)->names()) {
    absl::StatusOr<rein::checkpoint::TensorEntry> entry = (*file)->entry(name);
    absl::StatusOr<at::Tensor> tensor = (*file)->Get(name);
    FUZZ_CHECK(entry.ok() && tensor.ok());
    FUZZ_CHECK(tensor->scalar_type() == entry->dtype);
    FUZZ_CHECK(tensor->sizes().vec() == entry->shape);
    FUZZ_CHECK(tensor->nbytes() == entry->end - entry->begin);
    sink = sink ^ FoldBytes(*tensor);
  }
  return 0;
}
