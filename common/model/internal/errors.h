// Where LibTorch's exceptions become absl::Status in common/model: every public entry point runs
// its tensor work inside TorchCall.
#ifndef REIN_COMMON_MODEL_INTERNAL_ERRORS_H_
#define REIN_COMMON_MODEL_INTERNAL_ERRORS_H_

#include <c10/util/Exception.h>

#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace rein::model::internal {

template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};

// The absl type TorchCall returns for a function returning R.
template <typename R>
using TorchCallResult =
    std::conditional_t<std::is_void_v<R> || std::is_same_v<R, absl::Status>, absl::Status,
                       std::conditional_t<IsStatusOr<R>::value, R, absl::StatusOr<R>>>;

// Runs `fn` (returning void, T, absl::Status or absl::StatusOr<T>) and turns a c10::Error or
// std::exception it throws into INTERNAL (RESOURCE_EXHAUSTED for std::bad_alloc), prefixed by
// `what` ("forward", "load", ...).
template <typename Fn>
auto TorchCall(const char* what, Fn&& fn) {
  using R = std::invoke_result_t<Fn>;
  using Result = TorchCallResult<R>;
  try {
    if constexpr (std::is_void_v<R>) {
      std::forward<Fn>(fn)();
      return Result(absl::OkStatus());
    } else {
      return Result(std::forward<Fn>(fn)());
    }
  } catch (const c10::Error& e) {
    return Result(absl::InternalError(absl::StrCat(what, ": ", e.what_without_backtrace())));
  } catch (const std::bad_alloc&) {
    return Result(absl::ResourceExhaustedError(absl::StrCat(what, ": out of memory")));
  } catch (const std::exception& e) {
    return Result(absl::InternalError(absl::StrCat(what, ": ", e.what())));
  }
}

}  // namespace rein::model::internal

#endif  // REIN_COMMON_MODEL_INTERNAL_ERRORS_H_
