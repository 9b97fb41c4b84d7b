// Early-return helpers for absl::Status and absl::StatusOr.
// Debian's Abseil (20220623) ships no status_macros.h; this is the project's one copy.
//
//   RETURN_IF_ERROR(WriteHeader(file));
//   ASSIGN_OR_RETURN(auto tensor, DecodeTensor(proto, limits));
//   ASSIGN_OR_RETURN(config.port, ParsePort(text));
#ifndef REIN_COMMON_STATUS_STATUS_MACROS_H_
#define REIN_COMMON_STATUS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    if (::absl::Status rein_status_ = (expr); !rein_status_.ok()) { \
      return rein_status_;                                     \
    }                                                          \
  } while (false)

#define REIN_STATUS_CONCAT_INNER_(a, b) a##b
#define REIN_STATUS_CONCAT_(a, b) REIN_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the
// value into `lhs`, which may be a declaration (`auto x`) or an existing lvalue.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  REIN_ASSIGN_OR_RETURN_IMPL_(REIN_STATUS_CONCAT_(rein_statusor_, __LINE__), lhs, rexpr)

#define REIN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) {                                   \
    return std::move(statusor).status();                  \
  }                                                       \
  lhs = *std::move(statusor)

#endif  // REIN_COMMON_STATUS_STATUS_MACROS_H_
