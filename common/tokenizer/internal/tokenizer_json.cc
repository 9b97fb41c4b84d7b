#include "common/tokenizer/internal/tokenizer_json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace rein::tokenizer::internal {
namespace {

absl::Status Unsupported(const JsonFile& file, absl::string_view key, absl::string_view what) {
  return absl::UnimplementedError(absl::StrCat(file.path(), ": key '", key, "' is ", what,
                                               ", which Rein's byte-level BPE does not support"));
}

// The "type" member of a component object.
absl::StatusOr<std::string> TypeOf(const JsonFile& file, const Json& component,
                                   absl::string_view key) {
  if (!component.is_object()) return file.Error(key, "must be an object");
  ASSIGN_OR_RETURN(const Json* type, file.Require(component, "type", absl::StrCat(key, ".type")));
  return file.String(*type, absl::StrCat(key, ".type"));
}

absl::StatusOr<const Json*> RequireArray(const JsonFile& file, const Json& object,
                                         absl::string_view name, absl::string_view key) {
  ASSIGN_OR_RETURN(const Json* value, file.Require(object, name, key));
  if (!value->is_array()) return file.Error(key, "must be an array");
  return value;
}

absl::Status ParseModel(const JsonFile& file, const Json& root, TokenizerSpec* spec) {
  ASSIGN_OR_RETURN(const Json* model, file.Require(root, "model", "model"));
  if (!model->is_object()) return file.Error("model", "must be an object");
  if (const Json* type = JsonFile::Find(*model, "type"); type != nullptr) {
    ASSIGN_OR_RETURN(std::string name, file.String(*type, "model.type"));
    if (name != "BPE") return Unsupported(file, "model.type", absl::StrCat("'", name, "'"));
  }
  ASSIGN_OR_RETURN(const Json* vocab, file.Require(*model, "vocab", "model.vocab"));
  if (!vocab->is_object()) return file.Error("model.vocab", "must be an object of token: id");
  spec->vocab.reserve(vocab->size());
  for (const auto& [token, id] : vocab->items()) {
    ASSIGN_OR_RETURN(TokenId value, file.TokenIdValue(id, absl::StrCat("model.vocab.", token)));
    spec->vocab.emplace_back(token, value);
  }
  ASSIGN_OR_RETURN(const Json* merges, RequireArray(file, *model, "merges", "model.merges"));
  spec->merges.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const Json& merge = (*merges)[i];
    if (merge.is_string()) {  // "left right"
      const std::string& text = merge.get_ref<const std::string&>();
      size_t space = text.find(' ');
      if (space != std::string::npos && space > 0 && space + 1 < text.size() &&
          text.find(' ', space + 1) == std::string::npos) {
        spec->merges.emplace_back(text.substr(0, space), text.substr(space + 1));
        continue;
      }
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {  // ["left", "right"]
      spec->merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
      continue;
    }
    return file.Error(absl::StrCat("model.merges[", i, "]"),
                      "must be \"left right\" or [\"left\", \"right\"]");
  }
  ASSIGN_OR_RETURN(spec->ignore_merges,
                   file.OptionalBool(*model, "ignore_merges", false, "model.ignore_merges"));
  ASSIGN_OR_RETURN(spec->model_unk_token,
                   file.OptionalString(*model, "unk_token", "model.unk_token"));
  ASSIGN_OR_RETURN(bool byte_fallback,
                   file.OptionalBool(*model, "byte_fallback", false, "model.byte_fallback"));
  if (byte_fallback) return Unsupported(file, "model.byte_fallback", "true");
  if (const Json* dropout = JsonFile::Find(*model, "dropout"); dropout != nullptr) {
    if (!dropout->is_number()) return file.Error("model.dropout", "must be a number or null");
    if (dropout->get<double>() != 0.0) return Unsupported(file, "model.dropout", "set");
  }
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    std::string key = absl::StrCat("model.", affix);
    ASSIGN_OR_RETURN(std::optional<std::string> value, file.OptionalString(*model, affix, key));
    if (value.has_value() && !value->empty()) return Unsupported(file, key, "not empty");
  }
  return absl::OkStatus();
}

absl::Status ParseAddedTokens(const JsonFile& file, const Json& root, TokenizerSpec* spec) {
  const Json* added = JsonFile::Find(root, "added_tokens");
  if (added == nullptr) return absl::OkStatus();
  if (!added->is_array()) return file.Error("added_tokens", "must be an array");
  for (size_t i = 0; i < added->size(); ++i) {
    const std::string key = absl::StrCat("added_tokens[", i, "]");
    const Json& entry = (*added)[i];
    if (!entry.is_object()) return file.Error(key, "must be an object");
    AddedTokenSpec token;
    ASSIGN_OR_RETURN(const Json* id, file.Require(entry, "id", absl::StrCat(key, ".id")));
    ASSIGN_OR_RETURN(token.id, file.TokenIdValue(*id, absl::StrCat(key, ".id")));
    RETURN_IF_ERROR(ReadAddedTokenContent(file, entry, key, &token));
    spec->added_tokens.push_back(std::move(token));
  }
  return absl::OkStatus();
}

absl::Status ParseNormalizer(const JsonFile& file, const Json& normalizer, const std::string& key,
                             TokenizerSpec* spec) {
  // (Not ASSIGN_OR_RETURN: GCC 12 warns maybe-uninitialized on the moved string.)
  absl::StatusOr<std::string> type_or = TypeOf(file, normalizer, key);
  if (!type_or.ok()) return type_or.status();
  const std::string& type = *type_or;
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(const Json* steps, RequireArray(file, normalizer, "normalizers",
                                                     absl::StrCat(key, ".normalizers")));
    for (size_t i = 0; i < steps->size(); ++i) {
      RETURN_IF_ERROR(ParseNormalizer(file, (*steps)[i],
                                      absl::StrCat(key, ".normalizers[", i, "]"), spec));
    }
  } else if (type == "NFC") {
    spec->normalizers.push_back(NormalizationForm::kNfc);
  } else if (type == "NFD") {
    spec->normalizers.push_back(NormalizationForm::kNfd);
  } else if (type == "NFKC") {
    spec->normalizers.push_back(NormalizationForm::kNfkc);
  } else if (type == "NFKD") {
    spec->normalizers.push_back(NormalizationForm::kNfkd);
  } else {
    return Unsupported(file, absl::StrCat(key, ".type"), absl::StrCat("'", type, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParsePreTokenizer(const JsonFile& file, const Json& step, const std::string& key,
                               TokenizerSpec* spec) {
  absl::StatusOr<std::string> type_or = TypeOf(file, step, key);
  if (!type_or.ok()) return type_or.status();
  const std::string& type = *type_or;
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(const Json* steps, RequireArray(file, step, "pretokenizers",
                                                     absl::StrCat(key, ".pretokenizers")));
    for (size_t i = 0; i < steps->size(); ++i) {
      RETURN_IF_ERROR(ParsePreTokenizer(file, (*steps)[i],
                                        absl::StrCat(key, ".pretokenizers[", i, "]"), spec));
    }
    return absl::OkStatus();
  }
  PreTokenizerStep parsed;
  if (type == "ByteLevel") {
    parsed.kind = PreTokenizerStep::Kind::kByteLevel;
    ASSIGN_OR_RETURN(parsed.add_prefix_space,
                     file.OptionalBool(step, "add_prefix_space", false,
                                       absl::StrCat(key, ".add_prefix_space")));
    ASSIGN_OR_RETURN(bool use_regex,
                     file.OptionalBool(step, "use_regex", true, absl::StrCat(key, ".use_regex")));
    if (use_regex) parsed.pattern = kGpt2SplitPattern;
  } else if (type == "Split") {
    parsed.kind = PreTokenizerStep::Kind::kSplit;
    const std::string pattern_key = absl::StrCat(key, ".pattern");
    ASSIGN_OR_RETURN(const Json* pattern, file.Require(step, "pattern", pattern_key));
    if (const Json* regex = JsonFile::Find(*pattern, "Regex"); regex != nullptr) {
      ASSIGN_OR_RETURN(parsed.pattern, file.String(*regex, absl::StrCat(pattern_key, ".Regex")));
    } else if (const Json* literal = JsonFile::Find(*pattern, "String"); literal != nullptr) {
      ASSIGN_OR_RETURN(std::string text,
                       file.String(*literal, absl::StrCat(pattern_key, ".String")));
      parsed.pattern = EscapeRegex(text);
    } else {
      return file.Error(pattern_key, "must be {\"Regex\": ...} or {\"String\": ...}");
    }
    if (parsed.pattern.empty()) return file.Error(pattern_key, "is empty");
    ASSIGN_OR_RETURN(bool invert,
                     file.OptionalBool(step, "invert", false, absl::StrCat(key, ".invert")));
    if (invert) return Unsupported(file, absl::StrCat(key, ".invert"), "true");
    ASSIGN_OR_RETURN(const Json* behavior_value,
                     file.Require(step, "behavior", absl::StrCat(key, ".behavior")));
    ASSIGN_OR_RETURN(std::string behavior,
                     file.String(*behavior_value, absl::StrCat(key, ".behavior")));
    if (behavior == "Isolated") {
      parsed.behavior = SplitBehavior::kIsolated;
    } else if (behavior == "Removed") {
      parsed.behavior = SplitBehavior::kRemoved;
    } else {
      return Unsupported(file, absl::StrCat(key, ".behavior"), absl::StrCat("'", behavior, "'"));
    }
  } else {
    return Unsupported(file, absl::StrCat(key, ".type"), absl::StrCat("'", type, "'"));
  }
  spec->pre_tokenizer.push_back(std::move(parsed));
  return absl::OkStatus();
}

absl::Status ParsePostProcessor(const JsonFile& file, const Json& processor,
                                const std::string& key, TokenizerSpec* spec) {
  absl::StatusOr<std::string> type_or = TypeOf(file, processor, key);
  if (!type_or.ok()) return type_or.status();
  const std::string& type = *type_or;
  if (type == "ByteLevel") return absl::OkStatus();  // Only offsets; ids are unchanged.
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(const Json* steps, RequireArray(file, processor, "processors",
                                                     absl::StrCat(key, ".processors")));
    for (size_t i = 0; i < steps->size(); ++i) {
      RETURN_IF_ERROR(ParsePostProcessor(file, (*steps)[i],
                                         absl::StrCat(key, ".processors[", i, "]"), spec));
    }
    return absl::OkStatus();
  }
  if (type != "TemplateProcessing") {
    return Unsupported(file, absl::StrCat(key, ".type"), absl::StrCat("'", type, "'"));
  }
  const std::string single_key = absl::StrCat(key, ".single");
  ASSIGN_OR_RETURN(const Json* single, RequireArray(file, processor, "single", single_key));
  const Json* specials = JsonFile::Find(processor, "special_tokens");
  bool after_sequence = false;
  for (size_t i = 0; i < single->size(); ++i) {
    const std::string item_key = absl::StrCat(single_key, "[", i, "]");
    const Json& item = (*single)[i];
    if (JsonFile::Find(item, "Sequence") != nullptr) {
      after_sequence = true;
      continue;
    }
    const Json* special = JsonFile::Find(item, "SpecialToken");
    if (special == nullptr) return file.Error(item_key, "must hold Sequence or SpecialToken");
    ASSIGN_OR_RETURN(const Json* name_value,
                     file.Require(*special, "id", absl::StrCat(item_key, ".SpecialToken.id")));
    ASSIGN_OR_RETURN(std::string name,
                     file.String(*name_value, absl::StrCat(item_key, ".SpecialToken.id")));
    const std::string ids_key = absl::StrCat(key, ".special_tokens.", name, ".ids");
    const Json* entry = specials != nullptr ? JsonFile::Find(*specials, name) : nullptr;
    if (entry == nullptr) return file.Error(absl::StrCat(key, ".special_tokens.", name),
                                            "is missing");
    ASSIGN_OR_RETURN(const Json* ids, RequireArray(file, *entry, "ids", ids_key));
    for (const Json& id : *ids) {
      ASSIGN_OR_RETURN(TokenId value, file.TokenIdValue(id, ids_key));
      (after_sequence ? spec->suffix_ids : spec->prefix_ids).push_back(value);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDecoder(const JsonFile& file, const Json& decoder, const std::string& key) {
  absl::StatusOr<std::string> type_or = TypeOf(file, decoder, key);
  if (!type_or.ok()) return type_or.status();
  const std::string& type = *type_or;
  if (type == "ByteLevel") return absl::OkStatus();
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(const Json* steps,
                     RequireArray(file, decoder, "decoders", absl::StrCat(key, ".decoders")));
    for (size_t i = 0; i < steps->size(); ++i) {
      RETURN_IF_ERROR(CheckDecoder(file, (*steps)[i], absl::StrCat(key, ".decoders[", i, "]")));
    }
    return absl::OkStatus();
  }
  return Unsupported(file, absl::StrCat(key, ".type"), absl::StrCat("'", type, "'"));
}

}  // namespace

std::string EscapeRegex(absl::string_view literal) {
  std::string escaped;
  for (char c : literal) {
    if (absl::string_view("\\^$.|?*+()[]{}-/").find(c) != absl::string_view::npos) {
      escaped.push_back('\\');
    }
    escaped.push_back(c);
  }
  return escaped;
}

absl::StatusOr<TokenizerSpec> ParseTokenizerJson(const JsonFile& file, const Json& root) {
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": must hold a JSON object"));
  }
  TokenizerSpec spec;
  spec.source = file.path();
  RETURN_IF_ERROR(ParseModel(file, root, &spec));
  RETURN_IF_ERROR(ParseAddedTokens(file, root, &spec));
  if (const Json* normalizer = JsonFile::Find(root, "normalizer"); normalizer != nullptr) {
    RETURN_IF_ERROR(ParseNormalizer(file, *normalizer, "normalizer", &spec));
  }
  if (const Json* pre = JsonFile::Find(root, "pre_tokenizer"); pre != nullptr) {
    RETURN_IF_ERROR(ParsePreTokenizer(file, *pre, "pre_tokenizer", &spec));
  }
  bool byte_level = false;
  for (const PreTokenizerStep& step : spec.pre_tokenizer) {
    byte_level |= step.kind == PreTokenizerStep::Kind::kByteLevel;
  }
  if (!byte_level) {
    return absl::UnimplementedError(absl::StrCat(
        file.path(), ": key 'pre_tokenizer' has no ByteLevel step; Rein supports only byte-level "
        "BPE"));
  }
  if (const Json* post = JsonFile::Find(root, "post_processor"); post != nullptr) {
    RETURN_IF_ERROR(ParsePostProcessor(file, *post, "post_processor", &spec));
  }
  if (const Json* decoder = JsonFile::Find(root, "decoder"); decoder != nullptr) {
    RETURN_IF_ERROR(CheckDecoder(file, *decoder, "decoder"));
  }
  return spec;
}

absl::Status ReadAddedTokenContent(const JsonFile& file, const Json& entry, absl::string_view key,
                                   AddedTokenSpec* token) {
  ASSIGN_OR_RETURN(const Json* content,
                   file.Require(entry, "content", absl::StrCat(key, ".content")));
  ASSIGN_OR_RETURN(token->content, file.String(*content, absl::StrCat(key, ".content")));
  if (token->content.empty()) return file.Error(absl::StrCat(key, ".content"), "is empty");
  ASSIGN_OR_RETURN(token->special,
                   file.OptionalBool(entry, "special", false, absl::StrCat(key, ".special")));
  // HF's default: special tokens are matched before normalization, others after.
  ASSIGN_OR_RETURN(token->normalized, file.OptionalBool(entry, "normalized", !token->special,
                                                        absl::StrCat(key, ".normalized")));
  ASSIGN_OR_RETURN(token->lstrip,
                   file.OptionalBool(entry, "lstrip", false, absl::StrCat(key, ".lstrip")));
  ASSIGN_OR_RETURN(token->rstrip,
                   file.OptionalBool(entry, "rstrip", false, absl::StrCat(key, ".rstrip")));
  ASSIGN_OR_RETURN(token->single_word, file.OptionalBool(entry, "single_word", false,
                                                         absl::StrCat(key, ".single_word")));
  return absl::OkStatus();
}

}  // namespace rein::tokenizer::internal
