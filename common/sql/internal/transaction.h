// Pieces both backends share when they run a caller's TransactionFn. Private to common/sql.
#ifndef REIN_COMMON_SQL_INTERNAL_TRANSACTION_H_
#define REIN_COMMON_SQL_INTERNAL_TRANSACTION_H_

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/sql/database.h"

namespace rein::sql::internal {

// How many times Write/Read run a transaction that meets ABORTED (contention) before they
// return ABORTED to the caller.
inline constexpr int kMaxAttempts = 5;

// How much of a statement an error message quotes.
inline constexpr size_t kSqlInMessage = 200;

// Runs the caller's callback. An exception from it becomes INTERNAL here, so that it can
// neither escape into a backend thread nor leave a pooled connection inside a transaction.
inline absl::Status CallTransactionFn(const TransactionFn& fn, Connection& connection) {
  try {
    return fn(connection);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("transaction callback threw: ", e.what()));
  } catch (...) {
    return absl::InternalError("transaction callback threw a non-std exception");
  }
}

}  // namespace rein::sql::internal

#endif  // REIN_COMMON_SQL_INTERNAL_TRANSACTION_H_
