// SafetensorsFile::Open on hand-made malformed files: each must fail with INVALID_ARGUMENT naming
// the file and the offending tensor or key, never crash or read out of bounds.
#include <ATen/ops/tensor.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/files/file_util.h"
#include "common/checkpoint/safetensors.h"
#include "common/testing/subprocess.h"

namespace rein::checkpoint {
namespace {

// A file of the raw parts: the 8-byte length (of `header` unless `length` is given), the
// header and `data_bytes` zero bytes.
class RawFile {
 public:
  RawFile()
      : dir_(rein::testing::MakeTempDir("checkpoint_bad")), path_(dir_ + "/bad.safetensors") {}
  ~RawFile() { std::filesystem::remove_all(dir_); }

  const std::string& Write(const std::string& header, size_t data_bytes,
                           std::optional<uint64_t> length = std::nullopt) {
    const uint64_t n = length.value_or(header.size());
    std::string bytes(reinterpret_cast<const char*>(&n), 8);
    bytes += header;
    bytes.append(data_bytes, '\0');
    return WriteBytes(bytes);
  }

  const std::string& WriteBytes(const std::string& bytes) {
    REQUIRE(files::WriteFileAtomically(path_, [&](int fd) {
              return files::WriteAll(fd, bytes.data(), bytes.size(), path_);
            }).ok());
    return path_;
  }

 private:
  std::string dir_;
  std::string path_;
};

// Opens `path` expecting INVALID_ARGUMENT whose message names the file and contains `needles`.
void ExpectInvalid(const std::string& path, const std::vector<std::string>& needles,
                   const SafetensorsOptions& options = {}) {
  const auto st = SafetensorsFile::Open(path, options);
  REQUIRE_FALSE(st.ok());
  const std::string message(st.status().message());
  INFO(message);
  CHECK(st.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(message, Catch::Contains(path));
  for (const std::string& needle : needles) CHECK_THAT(message, Catch::Contains(needle));
}

TEST_CASE("file shorter than the length field") {
  RawFile f;
  ExpectInvalid(f.WriteBytes("abcde"), {"truncated", "5 bytes"});
  ExpectInvalid(f.WriteBytes(""), {"truncated", "0 bytes"});
}

TEST_CASE("header length past the end of the file") {
  RawFile f;
  ExpectInvalid(f.Write("{}", 0, 1000), {"header length 1000", "past the end"});
  ExpectInvalid(f.Write("{}", 0, ~uint64_t{0} - 4), {"header length"});
}

TEST_CASE("header larger than the configured cap") {
  RawFile f;
  const std::string header = R"({"__metadata__":{"k":"a long enough value"}})";
  SafetensorsOptions options;
  options.max_header_bytes = 16;
  ExpectInvalid(f.Write(header, 0), {"exceeds the limit of 16"}, options);
  CHECK(SafetensorsFile::Open(f.Write(header, 0)).ok());
}

TEST_CASE("header that is not a JSON object") {
  RawFile f;
  ExpectInvalid(f.Write(R"({"w": {"dtype": )", 0), {"not valid JSON"});
  ExpectInvalid(f.Write("[1, 2]", 0), {"not an object"});
  ExpectInvalid(f.Write(R"({"w": 3})", 0), {"tensor 'w'", "not an object"});
}

TEST_CASE("repeated key") {
  RawFile f;
  ExpectInvalid(f.Write(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                        R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                        2),
                {"'w'", "repeated"});
}

TEST_CASE("data_offsets out of range or reversed") {
  RawFile f;
  ExpectInvalid(f.Write(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
                {"tensor 'w'", "[0, 8]", "past the end of the data (4 bytes)"});
  ExpectInvalid(f.Write(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8),
                {"tensor 'w'", "end before they begin"});
  ExpectInvalid(f.Write(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8),
                {"tensor 'w'", "expected [begin, end]"});
  ExpectInvalid(f.Write(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", 8),
                {"tensor 'w'", "data_offsets", "-8"});
}

TEST_CASE("overlapping entries") {
  RawFile f;
  ExpectInvalid(f.Write(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        12),
                {"tensor 'b'", "overlap", "tensor 'a'"});
  // One entry inside another.
  ExpectInvalid(f.Write(R"({"a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},)"
                        R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
                        R"("c":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}})",
                        16),
                {"tensor 'b'", "overlap", "tensor 'a'"});
}

TEST_CASE("dtype x shape does not match the byte range") {
  RawFile f;
  ExpectInvalid(f.Write(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                {"tensor 'w'", "F32", "[3]", "12 bytes", "span 8"});
  ExpectInvalid(f.Write(R"({"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,4]}})", 8),
                {"tensor 'w'", "BF16", "8 bytes"});
  ExpectInvalid(f.Write(R"({"w":{"dtype":"U8","shape":[4611686018427387904,8],)"
                        R"("data_offsets":[0,8]}})",
                        8),
                {"tensor 'w'", "overflows"});
}

TEST_CASE("unknown or missing dtype") {
  RawFile f;
  ExpectInvalid(f.Write(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1),
                {"tensor 'w'", "unsupported dtype 'Q4'"});
  ExpectInvalid(f.Write(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1),
                {"tensor 'w'", "'dtype' missing"});
}

TEST_CASE("bad shapes") {
  RawFile f;
  ExpectInvalid(f.Write(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", 0),
                {"tensor 'w'", "'shape'", "-1"});
  ExpectInvalid(f.Write(R"({"w":{"dtype":"U8","shape":[2.5],"data_offsets":[0,0]}})", 0),
                {"tensor 'w'", "'shape'", "2.5"});
  ExpectInvalid(f.Write(R"({"w":{"dtype":"U8","shape":"2","data_offsets":[0,2]}})", 2),
                {"tensor 'w'", "'shape' missing or not an array"});
}

TEST_CASE("metadata must be a map of strings") {
  RawFile f;
  ExpectInvalid(f.Write(R"({"__metadata__":{"step":12}})", 0), {"'__metadata__.step'"});
  ExpectInvalid(f.Write(R"({"__metadata__":["x"]})", 0), {"'__metadata__'"});
}

TEST_CASE("valid oddities are accepted") {
  RawFile f;
  // Empty header, padding, gaps between tensors and zero-size tensors anywhere.
  CHECK(SafetensorsFile::Open(f.Write("{}", 0)).ok());
  CHECK(SafetensorsFile::Open(f.Write("{}      ", 0)).ok());
  auto st =
      SafetensorsFile::Open(f.Write(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
                                    R"("z":{"dtype":"F32","shape":[0,3],"data_offsets":[5,5]}})",
                                    8));
  REQUIRE(st.ok());
  auto z = (*st)->Get("z");
  REQUIRE(z.ok());
  CHECK(z->sizes().vec() == std::vector<int64_t>{0, 3});
}

TEST_CASE("misaligned tensor bytes come back as an aligned copy") {
  RawFile f;
  std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  // Pad so the data starts at a file offset that is 1 mod 4: not float-aligned.
  while ((8 + header.size()) % 4 != 1) header += ' ';
  const float values[2] = {1.5f, -2.0f};
  uint64_t n = header.size();
  std::string bytes(reinterpret_cast<const char*>(&n), 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values), sizeof(values));
  auto st = SafetensorsFile::Open(f.WriteBytes(bytes));
  REQUIRE(st.ok());
  auto w = (*st)->Get("w");
  REQUIRE(w.ok());
  CHECK(reinterpret_cast<uintptr_t>(w->data_ptr()) % alignof(float) == 0);
  CHECK(w->data_ptr<float>()[0] == 1.5f);
  CHECK(w->data_ptr<float>()[1] == -2.0f);
}

}  // namespace
}  // namespace rein::checkpoint
