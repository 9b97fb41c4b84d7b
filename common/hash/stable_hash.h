// Hashes that are the same in every build, process and run: for sampling seeds derived from
// (run seed, iteration, position) and for held-out splits, which a resumed run must reproduce.
// absl::Hash is salted per process and std::hash is unspecified, so neither will do.
#ifndef REIN_COMMON_HASH_STABLE_HASH_H_
#define REIN_COMMON_HASH_STABLE_HASH_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace rein::hash {

// SplitMix64's finaliser (Steele, Lea and Flood, 2014): a bijective 64-bit mix under which
// neighbouring inputs give unrelated outputs.
constexpr uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// 64-bit FNV-1a of `bytes`, started from a basis mixed with `salt`, then SplitMix64'd.
constexpr uint64_t HashBytes(absl::string_view bytes, uint64_t salt = 0) {
  uint64_t h = 0xCBF29CE484222325ULL ^ SplitMix64(salt);
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return SplitMix64(h);
}

}  // namespace rein::hash

#endif  // REIN_COMMON_HASH_STABLE_HASH_H_
