#include "common/hash/stable_hash.h"

#include <catch2/catch.hpp>

namespace rein::hash {
namespace {

TEST_CASE("SplitMix64 gives the reference sequence's values") {
  // The first outputs of SplitMix64 seeded with 0 (state += golden gamma, then the finaliser),
  // as in Vigna's reference implementation.
  CHECK(SplitMix64(0) == 0xE220A8397B1DCDAFULL);
  CHECK(SplitMix64(0x9E3779B97F4A7C15ULL) == 0x6E789E6AA1B965F4ULL);
}

TEST_CASE("HashBytes depends on every byte and the salt, and on nothing else") {
  static_assert(HashBytes("abc", 1) == HashBytes("abc", 1));
  CHECK(HashBytes("abc") != HashBytes("abd"));
  CHECK(HashBytes("abc", 1) != HashBytes("abc", 2));
  CHECK(HashBytes("") != HashBytes(absl::string_view("\0", 1)));
}

}  // namespace
}  // namespace rein::hash
