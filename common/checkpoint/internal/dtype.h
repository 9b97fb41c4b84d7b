// The dtype names safetensors writes, and the LibTorch scalar types they map to.
#ifndef REIN_COMMON_CHECKPOINT_INTERNAL_DTYPE_H_
#define REIN_COMMON_CHECKPOINT_INTERNAL_DTYPE_H_

#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

namespace rein::checkpoint::internal {

// The scalar type for a safetensors dtype name ("F32", "BF16", ...), or nullopt for names this
// LibTorch has no type for (F8_*, U16, U32, U64) and for unknown names.
std::optional<at::ScalarType> ScalarTypeFromName(const std::string& name);

// The safetensors name of `type`, or nullopt if safetensors (or this table) has none.
std::optional<std::string> NameFromScalarType(at::ScalarType type);

}  // namespace rein::checkpoint::internal

#endif  // REIN_COMMON_CHECKPOINT_INTERNAL_DTYPE_H_
