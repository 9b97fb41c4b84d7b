// Row's typed accessors. SQLite hands back typed cells; PostgreSQL hands back text, so every
// accessor converts between the three representations the same way on both backends.
#include <cmath>
#include <string>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sql/database.h"

namespace rein::sql {
namespace {

// Overloaded lambdas for std::visit.
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

int64_t Row::Int(size_t i) const {
  return std::visit(
      Overloaded{
          [](std::monostate) -> int64_t { return 0; },
          [](int64_t v) { return v; },
          // Truncates toward zero, like SQL's CAST(x AS BIGINT).
          [](double v) -> int64_t { return std::isfinite(v) ? static_cast<int64_t>(v) : 0; },
          [](const std::string& v) -> int64_t {
            int64_t parsed = 0;
            if (absl::SimpleAtoi(v, &parsed)) return parsed;
            double as_double = 0;  // "3.0" from a DOUBLE PRECISION column.
            if (absl::SimpleAtod(v, &as_double) && std::isfinite(as_double)) {
              return static_cast<int64_t>(as_double);
            }
            return 0;
          },
      },
      cells_.at(i));
}

double Row::Double(size_t i) const {
  return std::visit(Overloaded{
                        [](std::monostate) { return 0.0; },
                        [](int64_t v) { return static_cast<double>(v); },
                        [](double v) { return v; },
                        // PostgreSQL prints float8 in its shortest exact form, so parsing
                        // gives back the very double that was stored ("Infinity" included).
                        [](const std::string& v) {
                          double parsed = 0;
                          return absl::SimpleAtod(v, &parsed) ? parsed : 0.0;
                        },
                    },
                    cells_.at(i));
}

std::string Row::Text(size_t i) const {
  return std::visit(Overloaded{
                        [](std::monostate) { return std::string(); },
                        [](int64_t v) { return absl::StrCat(v); },
                        [](double v) { return absl::StrFormat("%.17g", v); },
                        [](const std::string& v) { return v; },
                    },
                    cells_.at(i));
}

}  // namespace rein::sql
