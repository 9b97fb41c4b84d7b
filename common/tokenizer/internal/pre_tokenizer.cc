#include "common/tokenizer/internal/pre_tokenizer.h"

#include <oniguruma.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/strings/utf8.h"

namespace rein::tokenizer::internal {
namespace {

using strings::DecodeUtf8;

void InitializeOniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

std::string OnigErrorText(int code, OnigErrorInfo* info) {
  OnigUChar text[ONIG_MAX_ERROR_MESSAGE_LEN];
  int length = info != nullptr ? onig_error_code_to_str(text, code, info)
                               : onig_error_code_to_str(text, code);
  return std::string(reinterpret_cast<const char*>(text), length > 0 ? length : 0);
}

const OnigUChar* Bytes(const char* p) { return reinterpret_cast<const OnigUChar*>(p); }

}  // namespace

PreTokenizerScratch::PreTokenizerScratch() : region_(onig_region_new()) {}

PreTokenizerScratch::~PreTokenizerScratch() { onig_region_free(region_, 1); }

absl::string_view PreTokenizerScratch::Keep(std::string text) {
  kept_.push_back(std::make_unique<std::string>(std::move(text)));
  return *kept_.back();
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::Create(
    const std::vector<PreTokenizerStep>& steps, absl::string_view source) {
  InitializeOniguruma();
  std::unique_ptr<PreTokenizer> pre_tokenizer(new PreTokenizer());
  for (size_t i = 0; i < steps.size(); ++i) {
    Step step{steps[i], nullptr};
    if (!step.spec.pattern.empty()) {
      const std::string& pattern = step.spec.pattern;
      OnigErrorInfo info;
      int code = onig_new(&step.regex, Bytes(pattern.data()),
                          Bytes(pattern.data() + pattern.size()), ONIG_OPTION_NONE,
                          ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
      if (code != ONIG_NORMAL) {
        return absl::InvalidArgumentError(absl::StrCat(source, ": pre-tokenizer step ", i,
                                                       ": regex /", pattern,
                                                       "/ does not compile: ",
                                                       OnigErrorText(code, &info)));
      }
    }
    pre_tokenizer->steps_.push_back(step);
  }
  return pre_tokenizer;
}

PreTokenizer::~PreTokenizer() {
  for (Step& step : steps_) {
    if (step.regex != nullptr) onig_free(step.regex);
  }
}

absl::Status PreTokenizer::RegexSplit(const Step& step, absl::string_view text,
                                      PreTokenizerScratch* scratch,
                                      std::vector<absl::string_view>* out) const {
  const OnigUChar* begin = Bytes(text.data());
  const OnigUChar* end = begin + text.size();
  const bool keep_matches = step.spec.behavior == SplitBehavior::kIsolated;
  size_t previous = 0;  // End of the last match.
  size_t position = 0;  // Where the next search starts.
  while (position < text.size()) {
    // Pre-tokenizer patterns nearly always match right where the last match ended; trying
    // that position alone first skips Oniguruma's search set-up. A match found there is the
    // one onig_search would find, since it tries positions in order.
    int start = static_cast<int>(position);
    int matched = onig_match(step.regex, begin, end, begin + position, scratch->region(),
                            ONIG_OPTION_NONE);
    if (matched == ONIG_MISMATCH) {
      start = onig_search(step.regex, begin, end, begin + position, end, scratch->region(),
                          ONIG_OPTION_NONE);
      if (start == ONIG_MISMATCH) break;
    } else if (matched < 0) {
      start = matched;
    }
    if (start < 0) {
      return absl::InternalError(absl::StrCat("pre-tokenizer regex failed: ",
                                              OnigErrorText(start, nullptr)));
    }
    const size_t match_begin = static_cast<size_t>(start);
    const size_t match_end = static_cast<size_t>(scratch->region()->end[0]);
    if (match_begin > previous) out->push_back(text.substr(previous, match_begin - previous));
    previous = match_begin;
    if (match_end == match_begin) {  // An empty match only ends the text before it.
      char32_t cp;
      size_t length = DecodeUtf8(text, match_begin, &cp);
      position = match_begin + (length > 0 ? length : 1);
      continue;
    }
    if (keep_matches) out->push_back(text.substr(match_begin, match_end - match_begin));
    previous = position = match_end;
  }
  if (previous < text.size()) out->push_back(text.substr(previous));
  return absl::OkStatus();
}

absl::Status PreTokenizer::Split(absl::string_view text, PreTokenizerScratch* scratch,
                                 std::vector<absl::string_view>* pieces) const {
  if (text.empty()) return absl::OkStatus();
  // Each step maps the current pieces to new ones (in the scratch's spare vector); the last
  // step's pieces are appended to `pieces`.
  std::vector<absl::string_view> current{text};
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& step = steps_[i];
    const bool last = i + 1 == steps_.size();
    std::vector<absl::string_view>& next = scratch->spare();
    next.clear();
    for (absl::string_view piece : current) {
      if (step.spec.kind == PreTokenizerStep::Kind::kByteLevel && step.spec.add_prefix_space &&
          (piece.empty() || piece.front() != ' ')) {
        piece = scratch->Keep(absl::StrCat(" ", piece));
      }
      if (step.regex == nullptr) {
        next.push_back(piece);
      } else {
        absl::Status status = RegexSplit(step, piece, scratch, &next);
        if (!status.ok()) return status;
      }
    }
    if (last) {
      pieces->insert(pieces->end(), next.begin(), next.end());
    } else {
      current.swap(next);
    }
  }
  if (steps_.empty()) pieces->push_back(text);
  return absl::OkStatus();
}

}  // namespace rein::tokenizer::internal
