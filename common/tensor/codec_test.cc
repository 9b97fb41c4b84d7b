#include "common/tensor/codec.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "common/tensor/internal/test_helpers.h"

namespace rein::tensor {
namespace {

using ::rein::tensor::testing::Bytes;
using ::rein::tensor::testing::CheckIdentical;
using ::rein::tensor::testing::Sample;
using ::rein::v1::DType;

constexpr DType kAllDTypes[] = {rein::v1::DTYPE_BF16, rein::v1::DTYPE_F16, rein::v1::DTYPE_F32,
                                rein::v1::DTYPE_F64,  rein::v1::DTYPE_I32, rein::v1::DTYPE_I64,
                                rein::v1::DTYPE_BOOL, rein::v1::DTYPE_U8};

// Encodes, decodes, and requires the result to be identical to `t` (made contiguous).
at::Tensor RoundTrip(const at::Tensor& t) {
  rein::v1::Tensor proto;
  REIN_REQUIRE_OK(EncodeTensor(t, &proto));
  absl::StatusOr<at::Tensor> decoded = DecodeTensor(proto, DecodeLimits{});
  REIN_REQUIRE_OK(decoded);
  CheckIdentical(*decoded, t);
  return *decoded;
}

// A well-formed f32 message of `shape`, with zeroed data.
rein::v1::Tensor F32Proto(const std::vector<int64_t>& shape) {
  rein::v1::Tensor p;
  p.set_dtype(rein::v1::DTYPE_F32);
  int64_t numel = 1;
  for (int64_t dim : shape) {
    p.add_shape(dim);
    numel *= dim;
  }
  p.set_data(std::string(static_cast<size_t>(numel) * 4, '\0'));
  return p;
}

TEST_CASE("every wire dtype maps to a scalar type and back") {
  for (DType dtype : kAllDTypes) {
    INFO(rein::v1::DType_Name(dtype));
    absl::StatusOr<at::ScalarType> scalar_type = ToScalarType(dtype);
    REIN_REQUIRE_OK(scalar_type);
    absl::StatusOr<DType> back = ToProtoDType(*scalar_type);
    REIN_REQUIRE_OK(back);
    CHECK(*back == dtype);
    CHECK(ItemSize(dtype) == static_cast<int64_t>(c10::elementSize(*scalar_type)));
  }
}

TEST_CASE("dtypes outside the wire format are rejected") {
  REIN_CHECK_ERROR(ToScalarType(rein::v1::DTYPE_UNSPECIFIED), absl::StatusCode::kInvalidArgument,
                   "unsupported dtype DTYPE_UNSPECIFIED (0)");
  REIN_CHECK_ERROR(ToScalarType(static_cast<DType>(99)), absl::StatusCode::kInvalidArgument,
                   "unsupported dtype 99");
  CHECK(ItemSize(rein::v1::DTYPE_UNSPECIFIED) == 0);
  CHECK(ItemSize(static_cast<DType>(99)) == 0);
  for (at::ScalarType type : {at::kComplexFloat, at::kChar, at::kShort, at::kQInt8}) {
    INFO(c10::toString(type));
    REIN_CHECK_ERROR(ToProtoDType(type), absl::StatusCode::kInvalidArgument, "no wire dtype");
  }
}

TEST_CASE("every dtype round-trips in every shape, including 0-d and empty") {
  const DType dtype = GENERATE(from_range(std::begin(kAllDTypes), std::end(kAllDTypes)));
  const std::vector<int64_t> shape =
      GENERATE(std::vector<int64_t>{}, std::vector<int64_t>{0}, std::vector<int64_t>{3, 0, 2},
               std::vector<int64_t>{1}, std::vector<int64_t>{17},
               std::vector<int64_t>{2, 3, 4}, std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 2});
  INFO(rein::v1::DType_Name(dtype) << " shape of rank " << shape.size());
  RoundTrip(Sample(*ToScalarType(dtype), shape));
}

TEST_CASE("a 0-d scalar has an empty shape and one element of data") {
  rein::v1::Tensor proto;
  REIN_REQUIRE_OK(EncodeTensor(Sample(at::kDouble, {}), &proto));
  CHECK(proto.dtype() == rein::v1::DTYPE_F64);
  CHECK(proto.shape().empty());
  CHECK(proto.data().size() == 8);
  absl::StatusOr<at::Tensor> decoded = DecodeTensor(proto, DecodeLimits{});
  REIN_REQUIRE_OK(decoded);
  CHECK(decoded->dim() == 0);
  CHECK(decoded->numel() == 1);
}

TEST_CASE("an empty tensor keeps its shape and carries no data") {
  rein::v1::Tensor proto;
  REIN_REQUIRE_OK(EncodeTensor(at::zeros({4, 0, 3}, at::kFloat), &proto));
  CHECK(std::vector<int64_t>(proto.shape().begin(), proto.shape().end()) ==
        std::vector<int64_t>{4, 0, 3});
  CHECK(proto.data().empty());
  RoundTrip(at::zeros({4, 0, 3}, at::kFloat));
}

TEST_CASE("non-contiguous inputs are sent in row-major order") {
  const at::Tensor base = Sample(at::kFloat, {6, 8});
  SECTION("transposed") { RoundTrip(base.t()); }
  SECTION("strided slice with a storage offset") { RoundTrip(base.slice(1, 1, 7, 2)); }
  SECTION("expanded (stride 0)") { RoundTrip(Sample(at::kInt, {1, 5}).expand({4, 5})); }
  SECTION("channels-last") {
    const at::Tensor nhwc =
        Sample(at::kBFloat16, {2, 3, 4, 5}).contiguous(at::MemoryFormat::ChannelsLast);
    REQUIRE_FALSE(nhwc.is_contiguous());
    RoundTrip(nhwc);
  }
  SECTION("lazily negated view") {
    const at::Tensor negated = base._neg_view();
    REQUIRE(negated.is_neg());
    const at::Tensor decoded = RoundTrip(negated);
    CHECK(Bytes(decoded) == Bytes(base.neg()));
  }
}

// Fills a 16-bit tensor with every one of the 65536 bit patterns (NaN payloads, infinities,
// signed zeros, subnormals included) and requires each to survive unchanged.
void CheckAllBitPatterns(at::ScalarType type) {
  at::Tensor t = at::empty({65536}, at::TensorOptions().dtype(type));
  auto* bits = static_cast<uint16_t*>(t.data_ptr());
  for (uint32_t i = 0; i < 65536; ++i) bits[i] = static_cast<uint16_t>(i);
  const at::Tensor decoded = RoundTrip(t);
  CHECK(std::memcmp(decoded.data_ptr(), t.data_ptr(), 65536 * 2) == 0);
}

TEST_CASE("bf16 and f16 survive bit-exactly") {
  CheckAllBitPatterns(at::kBFloat16);
  CheckAllBitPatterns(at::kHalf);
}

TEST_CASE("a large tensor round-trips through its own huge-page mapping") {
  // 33 MiB: above the size from which decoded tensors get a 2 MiB-aligned mapping.
  const at::Tensor t = Sample(at::kDouble, {33, 128, 1024});
  at::Tensor decoded = RoundTrip(t);
  CHECK(reinterpret_cast<uintptr_t>(decoded.data_ptr()) % (uintptr_t{2} << 20) == 0);
  // Still an ordinary tensor: LibTorch grows its storage through the same allocator, keeping
  // the contents.
  decoded.resize_({34, 128, 1024});
  CHECK(reinterpret_cast<uintptr_t>(decoded.data_ptr()) % (uintptr_t{2} << 20) == 0);
  CHECK(Bytes(decoded.slice(0, 0, 33)) == Bytes(t));
}

TEST_CASE("encoding into a used message replaces its contents") {
  rein::v1::Tensor proto;
  REIN_REQUIRE_OK(EncodeTensor(Sample(at::kLong, {5, 5}), &proto));
  REIN_REQUIRE_OK(EncodeTensor(Sample(at::kByte, {3}), &proto));
  CHECK(proto.dtype() == rein::v1::DTYPE_U8);
  CHECK(proto.shape_size() == 1);
  CHECK(proto.data().size() == 3);
  REIN_REQUIRE_OK(EncodeTensor(at::zeros({0}, at::kFloat), &proto));
  CHECK(proto.data().empty());
}

TEST_CASE("tensors the wire cannot carry are refused by the encoder") {
  rein::v1::Tensor proto;
  REIN_CHECK_ERROR(EncodeTensor(at::Tensor(), &proto), absl::StatusCode::kInvalidArgument,
                   "undefined tensor");
  REIN_CHECK_ERROR(EncodeTensor(at::zeros({2}, at::kComplexFloat), &proto),
                   absl::StatusCode::kInvalidArgument, "ComplexFloat has no wire dtype");
  REIN_CHECK_ERROR(EncodeTensor(at::zeros({2}, at::kShort), &proto),
                   absl::StatusCode::kInvalidArgument, "Short has no wire dtype");
  REIN_CHECK_ERROR(EncodeTensor(at::zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}, at::kFloat), &proto),
                   absl::StatusCode::kInvalidArgument, "rank 9 exceeds 8");
  REIN_CHECK_ERROR(EncodeTensor(at::zeros({2, 2}, at::kFloat).to_sparse(), &proto),
                   absl::StatusCode::kInvalidArgument, "is not dense");
}

TEST_CASE("the decoded tensor owns its bytes") {
  rein::v1::Tensor proto;
  const at::Tensor original = Sample(at::kFloat, {4});
  REIN_REQUIRE_OK(EncodeTensor(original, &proto));
  absl::StatusOr<at::Tensor> decoded = DecodeTensor(proto, DecodeLimits{});
  REIN_REQUIRE_OK(decoded);
  proto.mutable_data()->assign(16, 'x');
  CheckIdentical(*decoded, original);
}

TEST_CASE("malformed messages are rejected naming the field") {
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  rein::v1::Tensor p = F32Proto({2, 3});
  DecodeLimits limits;

  SECTION("unspecified dtype") {
    p.set_dtype(rein::v1::DTYPE_UNSPECIFIED);
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.dtype: unsupported dtype DTYPE_UNSPECIFIED (0)");
  }
  SECTION("unknown dtype") {
    p.set_dtype(static_cast<DType>(42));
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.dtype: unsupported dtype 42");
  }
  SECTION("rank above 8") {
    p = F32Proto({1, 1, 1, 1, 1, 1, 1, 1, 1});
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.shape: rank 9 exceeds 8");
  }
  SECTION("negative dimension") {
    p.set_shape(1, -2);
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "experiences.values"), kInvalid,
                     "experiences.values.shape[1]: negative dimension -2");
  }
  SECTION("element count overflowing int64, wherever a zero dim sits") {
    limits.max_elements = std::numeric_limits<int64_t>::max();
    p.clear_shape();
    for (int64_t dim : {int64_t{1} << 40, int64_t{0}, int64_t{1} << 40}) p.add_shape(dim);
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.shape[2]: element count overflows int64");
  }
  SECTION("byte size overflowing int64 under a huge element limit") {
    limits.max_elements = std::numeric_limits<int64_t>::max();
    p.clear_shape();
    p.add_shape(int64_t{1} << 62);
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.shape: byte size overflows int64");
  }
  SECTION("more elements than the limit") {
    limits.max_elements = 5;
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.shape: 6 elements exceed the limit of 5");
  }
  SECTION("default limit") {
    p.clear_shape();
    p.add_shape(int64_t{1} << 31);
    p.add_shape(2);
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.shape: 4294967296 elements exceed the limit of 2147483648");
  }
  SECTION("data too short") {
    p = F32Proto({4});
    p.mutable_data()->resize(12);
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.data: 12 bytes, expected 16 (numel 4 x itemsize 4)");
  }
  SECTION("data too long") {
    p.mutable_data()->push_back('\0');
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.data: 25 bytes, expected 24 (numel 6 x itemsize 4)");
  }
  SECTION("data for an empty tensor") {
    p = F32Proto({3, 0});
    p.set_data("abcd");
    REIN_CHECK_ERROR(DecodeTensor(p, limits, "weights"), kInvalid,
                     "weights.data: 4 bytes, expected 0 (numel 0 x itemsize 4)");
  }
  SECTION("the default field name is 'tensor'") {
    p.set_shape(0, -1);
    REIN_CHECK_ERROR(DecodeTensor(p, limits), kInvalid,
                     "tensor.shape[0]: negative dimension -1");
  }
}

TEST_CASE("a zero dim makes an empty tensor however large the other dims") {
  rein::v1::Tensor p = F32Proto({0});
  p.add_shape(int64_t{1} << 40);
  absl::StatusOr<at::Tensor> decoded = DecodeTensor(p, DecodeLimits{});
  REIN_REQUIRE_OK(decoded);
  CHECK(decoded->numel() == 0);
  CHECK(decoded->sizes().vec() == std::vector<int64_t>{0, int64_t{1} << 40});
}

}  // namespace
}  // namespace rein::tensor
