// Name tables for enums that appear in config files.
//
// An enum becomes usable as a config field by specialising EnumNames next to its definition:
//
//   template <> struct EnumNames<RunMode> {
//     static constexpr EnumEntry<RunMode> kEntries[] = {{"sync", RunMode::kSync},
//                                                      {"async", RunMode::kAsync}};
//   };
//
// The same table then drives parsing, error messages ("expected one of sync, async") and the
// rendered defaults, so a spelling lives in exactly one place.
#ifndef REIN_COMMON_CONFIG_ENUM_NAMES_H_
#define REIN_COMMON_CONFIG_ENUM_NAMES_H_

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rein::config {

template <typename E>
struct EnumEntry {
  absl::string_view name;
  E value;
};

// Specialised once per enum with a `static constexpr EnumEntry<E> kEntries[]`.
template <typename E>
struct EnumNames;

// The config spelling of `value`; "?" for a value missing from the table (a bug in the table).
template <typename E>
absl::string_view EnumName(E value) {
  for (const EnumEntry<E>& entry : EnumNames<E>::kEntries) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

// The value spelled `name` (ASCII case-insensitive), or nullopt.
template <typename E>
std::optional<E> ParseEnumName(absl::string_view name) {
  for (const EnumEntry<E>& entry : EnumNames<E>::kEntries) {
    if (absl::EqualsIgnoreCase(entry.name, name)) return entry.value;
  }
  return std::nullopt;
}

// "sync, async": every spelling, in table order, for messages and docs.
template <typename E>
std::string EnumNameList() {
  std::string out;
  for (const EnumEntry<E>& entry : EnumNames<E>::kEntries) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", entry.name);
  }
  return out;
}

}  // namespace rein::config

#endif  // REIN_COMMON_CONFIG_ENUM_NAMES_H_
