#include "common/checkpoint/internal/dtype.h"

#include <array>
#include <utility>

namespace rein::checkpoint::internal {
namespace {

struct DtypeName {
  const char* name;
  at::ScalarType type;
};

// The names are those of the safetensors specification; the table is short enough that a
// linear scan beats any map.
constexpr std::array<DtypeName, 10> kDtypes = {{
    {"F64", at::kDouble},
    {"F32", at::kFloat},
    {"F16", at::kHalf},
    {"BF16", at::kBFloat16},
    {"I64", at::kLong},
    {"I32", at::kInt},
    {"I16", at::kShort},
    {"I8", at::kChar},
    {"U8", at::kByte},
    {"BOOL", at::kBool},
}};

}  // namespace

std::optional<at::ScalarType> ScalarTypeFromName(const std::string& name) {
  for (const DtypeName& d : kDtypes) {
    if (name == d.name) return d.type;
  }
  return std::nullopt;
}

std::optional<std::string> NameFromScalarType(at::ScalarType type) {
  for (const DtypeName& d : kDtypes) {
    if (type == d.type) return std::string(d.name);
  }
  return std::nullopt;
}

}  // namespace rein::checkpoint::internal
