#include "common/tokenizer/internal/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include "absl/strings/str_cat.h"

namespace rein::tokenizer::internal {

absl::StatusOr<std::unique_ptr<Normalizer>> Normalizer::Create(
    const std::vector<NormalizationForm>& forms) {
  std::vector<const icu::Normalizer2*> steps;
  for (NormalizationForm form : forms) {
    UErrorCode error = U_ZERO_ERROR;
    const icu::Normalizer2* instance = nullptr;
    switch (form) {
      case NormalizationForm::kNfc: instance = icu::Normalizer2::getNFCInstance(error); break;
      case NormalizationForm::kNfd: instance = icu::Normalizer2::getNFDInstance(error); break;
      case NormalizationForm::kNfkc: instance = icu::Normalizer2::getNFKCInstance(error); break;
      case NormalizationForm::kNfkd: instance = icu::Normalizer2::getNFKDInstance(error); break;
    }
    if (U_FAILURE(error) || instance == nullptr) {
      return absl::InternalError(absl::StrCat("ICU normalizer: ", u_errorName(error)));
    }
    steps.push_back(instance);
  }
  return std::unique_ptr<Normalizer>(new Normalizer(std::move(steps)));
}

void Normalizer::Normalize(absl::string_view text, std::string* out) const {
  out->assign(text.data(), text.size());
  // ASCII is unchanged by every normalization form.
  bool ascii = true;
  for (char c : text) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) return;
  std::string next;
  for (const icu::Normalizer2* step : steps_) {
    next.clear();
    icu::StringByteSink<std::string> sink(&next, static_cast<int32_t>(out->size()));
    UErrorCode error = U_ZERO_ERROR;
    step->normalizeUTF8(0, icu::StringPiece(out->data(), static_cast<int32_t>(out->size())),
                        sink, nullptr, error);
    // Input is valid UTF-8, so ICU does not fail; keep the text as it is if it ever does.
    if (U_SUCCESS(error)) out->swap(next);
  }
}

}  // namespace rein::tokenizer::internal
