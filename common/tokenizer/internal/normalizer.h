// Unicode normalization (NFC, NFD, NFKC, NFKD and sequences of them) through ICU, as a
// tokenizer.json "normalizer" configures it. Immutable; thread safe.
#ifndef REIN_COMMON_TOKENIZER_INTERNAL_NORMALIZER_H_
#define REIN_COMMON_TOKENIZER_INTERNAL_NORMALIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tokenizer/internal/tokenizer_spec.h"

#include <unicode/uversion.h>

U_NAMESPACE_BEGIN
class Normalizer2;
U_NAMESPACE_END

namespace rein::tokenizer::internal {

class Normalizer {
 public:
  // INTERNAL if ICU cannot provide a form. An empty `forms` gives an identity normalizer.
  static absl::StatusOr<std::unique_ptr<Normalizer>> Create(
      const std::vector<NormalizationForm>& forms);

  bool is_identity() const { return steps_.empty(); }

  // Writes the normalized form of valid UTF-8 `text` to `out` (replacing its contents).
  void Normalize(absl::string_view text, std::string* out) const;

 private:
  explicit Normalizer(std::vector<const icu::Normalizer2*> steps) : steps_(std::move(steps)) {}

  std::vector<const icu::Normalizer2*> steps_;  // Owned by ICU, process lifetime.
};

}  // namespace rein::tokenizer::internal

#endif  // REIN_COMMON_TOKENIZER_INTERNAL_NORMALIZER_H_
