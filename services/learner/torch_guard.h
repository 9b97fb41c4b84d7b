// Runs LibTorch code and turns its exceptions into absl::Status, so that no c10::Error leaves the
// learner's step functions (and none crosses the gRPC boundary).
#ifndef REIN_SERVICES_LEARNER_TORCH_GUARD_H_
#define REIN_SERVICES_LEARNER_TORCH_GUARD_H_

#include <exception>
#include <new>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rein::learner {

// `f` returns absl::Status or absl::StatusOr<T>; an exception becomes INTERNAL (RESOURCE_EXHAUSTED
// for std::bad_alloc) naming `context`.
template <typename F>
auto GuardTorch(absl::string_view context, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(context, ": out of memory"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(context, ": ", e.what()));
  }
}

}  // namespace rein::learner

#endif  // REIN_SERVICES_LEARNER_TORCH_GUARD_H_
