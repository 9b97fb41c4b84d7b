// Helpers for common/rl's tests: small double tensors from literals and StatusOr unwrapping.
// Test-only; include from *_test.cc files.
#ifndef REIN_COMMON_RL_INTERNAL_TEST_UTIL_H_
#define REIN_COMMON_RL_INTERNAL_TEST_UTIL_H_

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/tensor.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rein::rl::testing {

// A float64 tensor [n].
inline at::Tensor Vec(std::initializer_list<double> values) {
  return at::tensor(std::vector<double>(values), at::kDouble);
}

// A float64 tensor [rows, cols] from row literals of equal length.
inline at::Tensor Mat(std::initializer_list<std::initializer_list<double>> rows) {
  std::vector<double> flat;
  int64_t cols = 0;
  for (const auto& row : rows) {
    cols = static_cast<int64_t>(row.size());
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return at::tensor(flat, at::kDouble).reshape({static_cast<int64_t>(rows.size()), cols});
}

inline double Item(const at::Tensor& t) { return t.item<double>(); }

// The value of an OK StatusOr; fails the test case otherwise.
template <typename T>
T Ok(absl::StatusOr<T> result) {
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *std::move(result);
}

// OK unless `status` is INVALID_ARGUMENT with a message mentioning `word`.
inline bool IsInvalidNaming(const absl::Status& status, const std::string& word) {
  return status.code() == absl::StatusCode::kInvalidArgument &&
         std::string(status.message()).find(word) != std::string::npos;
}

// Elementwise closeness of two tensors of the same shape.
inline bool AllClose(const at::Tensor& a, const at::Tensor& b, double tol = 1e-9) {
  if (a.sizes() != b.sizes()) return false;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() <= tol;
}

}  // namespace rein::rl::testing

#endif  // REIN_COMMON_RL_INTERNAL_TEST_UTIL_H_
