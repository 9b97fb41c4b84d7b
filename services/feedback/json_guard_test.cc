#include "services/feedback/json_guard.h"

#include <catch2/catch.hpp>
#include <string>

namespace rein::feedback {
namespace {

TEST_CASE("json guard refuses deep nesting before any parser sees it") {
  CHECK(CheckJsonDepth(R"({"a": [1, {"b": 2}]})", 3).ok());
  CHECK_FALSE(CheckJsonDepth(R"({"a": [1, {"b": [2]}]})", 3).ok());
  // Brackets inside strings, escaped quotes included, do not count.
  CHECK(CheckJsonDepth(R"({"a": "[[[[[[\"[[[[["})", 2).ok());
  const std::string hostile = std::string(1'000'000, '[');
  absl::Status status = CheckJsonDepth(hostile, kMaxJsonDepth);
  CHECK(absl::IsInvalidArgument(status));
  CHECK(status.message().rfind("body:", 0) == 0);
}

}  // namespace
}  // namespace rein::feedback
