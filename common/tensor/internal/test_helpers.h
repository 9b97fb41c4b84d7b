// Helpers shared by this component's Catch2 tests. Test-only; header-only.
#ifndef REIN_COMMON_TENSOR_INTERNAL_TEST_HELPERS_H_
#define REIN_COMMON_TENSOR_INTERNAL_TEST_HELPERS_H_

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rein::tensor::testing {

inline absl::Status StatusOf(const absl::Status& status) { return status; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// REQUIRE that a Status or StatusOr is OK, printing the status when it is not.
#define REIN_REQUIRE_OK(expr)                                                     \
  do {                                                                            \
    const ::absl::Status rein_test_status_ = ::rein::tensor::testing::StatusOf(expr); \
    INFO(rein_test_status_.ToString());                                           \
    REQUIRE(rein_test_status_.ok());                                              \
  } while (false)

// CHECK that a Status or StatusOr failed with `want_code` and a message containing `want_text`.
#define REIN_CHECK_ERROR(expr, want_code, want_text)                                        \
  do {                                                                            \
    const ::absl::Status rein_test_status_ = ::rein::tensor::testing::StatusOf(expr); \
    INFO(rein_test_status_.ToString());                                           \
    CHECK(rein_test_status_.code() == (want_code));                                    \
    CHECK_THAT(std::string(rein_test_status_.message()), Catch::Contains(want_text));  \
  } while (false)

// A deterministic tensor of `type` and `shape` whose elements vary (negative and fractional
// where the type allows), so that a byte shuffle or truncation shows up.
inline at::Tensor Sample(at::ScalarType type, std::vector<int64_t> shape) {
  int64_t numel = 1;
  for (int64_t dim : shape) numel *= dim;
  at::Tensor values = at::arange(numel, at::kDouble).mul(37).remainder(101);  // 0 .. 100
  if (type == at::kBool) {
    values = values.remainder(2);
  } else if (at::isFloatingType(type)) {
    values = values.sub(50).div(7);
  } else if (type != at::kByte) {
    values = values.sub(50);
  }
  return values.to(type).reshape(shape);
}

// The tensor's elements (the values it reads as, lazy negation applied) as row-major bytes.
inline std::string Bytes(const at::Tensor& t) {
  const at::Tensor dense = t.resolve_neg().contiguous();
  if (dense.nbytes() == 0) return {};
  return std::string(static_cast<const char*>(dense.data_ptr()), dense.nbytes());
}

// Same dtype, same shape, same bytes.
inline void CheckIdentical(const at::Tensor& actual, const at::Tensor& expected) {
  CHECK(actual.scalar_type() == expected.scalar_type());
  CHECK(actual.sizes().vec() == expected.sizes().vec());
  CHECK(actual.is_contiguous());
  CHECK(Bytes(actual) == Bytes(expected));
}

}  // namespace rein::tensor::testing

#endif  // REIN_COMMON_TENSOR_INTERNAL_TEST_HELPERS_H_
