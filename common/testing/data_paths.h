// Where tests find data that scripts/setup.sh downloads rather than the repository holding it.
#ifndef REIN_COMMON_TESTING_DATA_PATHS_H_
#define REIN_COMMON_TESTING_DATA_PATHS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rein::testing {

// The cache scripts/setup.sh fills: $REIN_CACHE, else $HOME/.cache/rein.
std::string CacheDir();

// The folder of a pinned tokenizer fetched by scripts/setup.sh ("qwen3", "llama3"):
// CacheDir()/tokenizers/<name>. NOT_FOUND, saying to run scripts/setup.sh, if it lacks
// tokenizer.json or tokenizer_config.json.
absl::StatusOr<std::string> CachedTokenizerDir(absl::string_view name);

}  // namespace rein::testing

#endif  // REIN_COMMON_TESTING_DATA_PATHS_H_
