// A schema for YAML config files in which every field is declared exactly once:
//
//   Binder root;
//   Binder& sampling = root.Section("sampling", "How responses are sampled.");
//   sampling.Field("max_new_tokens", &s.max_new_tokens, "Most tokens per response.").Positive();
//
// The binder holds pointers to the members it was given; the same declarations then
//  (a) parse a document into those members (ParseYamlDocument), and
//  (b) render the members' current values, each under its doc, as commented YAML (RenderYaml),
// so a struct's initialisers plus these docs are the one place defaults are documented.
//
// Error policy: parsing does not stop at the first problem. Every unknown key, duplicate key,
// wrong node kind and bad value in the document is reported (Diagnostics caps the list), each
// as "SOURCE:LINE: key.path: problem". A field whose value is bad keeps its previous value.
//
// Field types: bool, int32_t, int64_t, uint64_t, double, std::string, absl::Duration, enums
// with an EnumNames table, std::vector<std::string>, std::vector<int32_t>; sections nest.
// An empty value ("key:" or "key: ~") means "" for a string, [] for a list and "all defaults"
// for a section; for other types it is an error.
//
// Thread safety: none; a Binder is built, used once and dropped on one thread. It must not
// outlive the members it points to.
#ifndef REIN_COMMON_CONFIG_YAML_BINDER_H_
#define REIN_COMMON_CONFIG_YAML_BINDER_H_

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/config/diagnostics.h"
#include "common/config/enum_names.h"
#include "common/config/value_codec.h"

namespace rein::config {

class Binder;

namespace internal {

struct ParseState {
  Diagnostics* diagnostics;
  KeyLines* lines;
  const Binder* root;  // for "did you mean" across sections
};

// The 1-based line of `node`, or `fallback` when the node has none of its own (an empty value's
// mark points at the next token, so the key's line is the better answer).
int LineOf(const YAML::Node& node, int fallback);
// "'abc'", "a list", "a map" or "an empty value": what the user wrote, for messages.
std::string Describe(const YAML::Node& node);
// Appends `text` as "# ..." lines indented by `indent`, wrapped near 100 columns.
void AppendComment(absl::string_view text, int indent, std::string* out);
// `items` (already formatted scalars, or raw strings) as one YAML flow list: [a, "b: c"].
std::string FormatFlowList(const std::vector<std::string>& items);

template <typename T>
struct ElementOf {
  using type = T;
  static constexpr bool kIsList = false;
};
template <typename E>
struct ElementOf<std::vector<E>> {
  using type = E;
  static constexpr bool kIsList = true;
};

}  // namespace internal

// One key of a schema: a field or a section.
class BoundNode {
 public:
  virtual ~BoundNode() = default;
  BoundNode(const BoundNode&) = delete;
  BoundNode& operator=(const BoundNode&) = delete;

  const std::string& key() const { return key_; }
  const std::string& path() const { return path_; }  // dotted, from the root
  const std::string& doc() const { return doc_; }

  // Reads `value`, the node written under this key on `key_line`, into the bound member(s).
  virtual void Parse(const YAML::Node& value, int key_line, internal::ParseState& state) const = 0;
  // Appends this key, its doc comment and its current value(s) at `indent` spaces.
  virtual void Render(int indent, std::string* out) const = 0;

 protected:
  BoundNode(absl::string_view key, absl::string_view path, absl::string_view doc)
      : key_(key), path_(path), doc_(doc) {}

 private:
  std::string key_;
  std::string path_;
  std::string doc_;
};

// A leaf bound to one member of type T. Validation rules apply to each element of a list.
template <typename T>
class TypedField final : public BoundNode {
 public:
  using Element = typename internal::ElementOf<T>::type;
  static constexpr bool kIsList = internal::ElementOf<T>::kIsList;

  TypedField(absl::string_view key, absl::string_view path, absl::string_view doc, T* member)
      : BoundNode(key, path, doc), member_(member) {}

  // Rules. Each names what it expects, and that phrase is both the error text and the doc.
  TypedField& Positive() {
    return Check([](const Element& v) { return v > Element{}; },
                 WithArticle(absl::StrCat("positive ", Noun())));
  }
  TypedField& NonNegative() {
    return Check([](const Element& v) { return v >= Element{}; },
                 WithArticle(absl::StrCat("non-negative ", Noun())));
  }
  // Inclusive on both ends.
  TypedField& Range(Element lo, Element hi) {
    return Check(
        [lo, hi](const Element& v) { return lo <= v && v <= hi; },
        absl::StrCat(WithArticle(Noun()), " in [", FormatScalar(lo), ", ", FormatScalar(hi), "]"));
  }
  TypedField& NonEmpty() {
    return Check([](const Element& v) { return !v.empty(); }, "a non-empty string");
  }
  TypedField& OneOf(std::initializer_list<absl::string_view> allowed) {
    std::vector<std::string> names(allowed.begin(), allowed.end());
    std::string expectation = absl::StrCat("one of ", absl::StrJoin(names, ", "));
    return Check(
        [names = std::move(names)](const Element& v) {
          for (const std::string& name : names) {
            if (v == name) return true;
          }
          return false;
        },
        std::move(expectation));
  }
  // Any other rule; `expectation` completes "expected ..., got 'x'" (e.g. "a number in (0, 1]").
  TypedField& Check(std::function<bool(const Element&)> ok, std::string expectation) {
    rules_.push_back(Rule{std::move(ok), std::move(expectation)});
    return *this;
  }

  void Parse(const YAML::Node& value, int key_line, internal::ParseState& state) const override {
    if constexpr (kIsList) {
      ParseList(value, key_line, state);
    } else {
      Element parsed{};
      if (ParseElement(value, path(), key_line, state, &parsed)) *member_ = std::move(parsed);
    }
  }

  void Render(int indent, std::string* out) const override {
    std::string doc = this->doc();
    if constexpr (std::is_enum_v<Element>) {
      absl::StrAppend(&doc, " One of: ", EnumNameList<Element>(), ".");
    }
    for (const Rule& rule : rules_) {
      absl::StrAppend(&doc, kIsList ? " Each element must be " : " Must be ", rule.expectation,
                      ".");
    }
    internal::AppendComment(doc, indent, out);
    absl::StrAppend(out, std::string(indent, ' '), key(), ": ", FormatValue(), "\n");
  }

 private:
  struct Rule {
    std::function<bool(const Element&)> ok;
    std::string expectation;
  };

  static absl::string_view Noun() {
    if constexpr (std::is_enum_v<Element>) {
      return "name";
    } else {
      return ScalarTraits<Element>::kNoun;
    }
  }

  // The phrase after "expected": the first rule's when there is one, it being the most precise.
  std::string Expectation() const {
    std::string phrase;
    if (!rules_.empty()) {
      phrase = rules_.front().expectation;
    } else if constexpr (std::is_enum_v<Element>) {
      phrase = absl::StrCat("one of ", EnumNameList<Element>());
    } else if constexpr (std::is_same_v<Element, bool>) {
      phrase = "a boolean (true or false)";
    } else if constexpr (std::is_unsigned_v<Element>) {
      phrase = "a non-negative integer";
    } else {
      phrase = WithArticle(Noun());
    }
    if constexpr (std::is_same_v<Element, absl::Duration>) {
      absl::StrAppend(&phrase, " such as 30s, 500ms or 2m");
    }
    return phrase;
  }

  void Fail(int line, absl::string_view path, absl::string_view got, absl::string_view why,
            internal::ParseState& state) const {
    state.diagnostics->Add(line,
                           absl::StrCat(path, ": expected ", Expectation(), ", got ", got, why));
  }

  bool ParseElement(const YAML::Node& node, absl::string_view path, int key_line,
                    internal::ParseState& state, Element* out) const {
    const int line = internal::LineOf(node, key_line);
    const bool empty_string = std::is_same_v<Element, std::string> && node.IsNull();
    if (!node.IsScalar() && !empty_string) {
      Fail(line, path, internal::Describe(node), "", state);
      return false;
    }
    const std::string text = empty_string ? std::string() : node.Scalar();
    Element value{};
    if constexpr (std::is_enum_v<Element>) {
      std::optional<Element> named = ParseEnumName<Element>(text);
      if (!named.has_value()) {
        Fail(line, path, internal::Describe(node), "", state);
        return false;
      }
      value = *named;
    } else {
      const ScalarParse result = ParseScalar(text, &value);
      if (result != ScalarParse::kOk) {
        const bool out_of_range = result == ScalarParse::kOutOfRange;
        Fail(line, path, internal::Describe(node), out_of_range ? " (out of range)" : "", state);
        return false;
      }
    }
    for (const Rule& rule : rules_) {
      if (!rule.ok(value)) {
        state.diagnostics->Add(line, absl::StrCat(path, ": expected ", rule.expectation, ", got ",
                                                  internal::Describe(node)));
        return false;
      }
    }
    *out = std::move(value);
    return true;
  }

  void ParseList(const YAML::Node& value, int key_line, internal::ParseState& state) const {
    if (value.IsNull()) {
      member_->clear();
      return;
    }
    if (!value.IsSequence()) {
      state.diagnostics->Add(
          internal::LineOf(value, key_line),
          absl::StrCat(path(), ": expected a list, got ", internal::Describe(value)));
      return;
    }
    T parsed;
    bool all_ok = true;
    for (size_t i = 0; i < value.size(); ++i) {
      Element element{};
      if (ParseElement(value[i], absl::StrCat(path(), "[", i, "]"), key_line, state, &element)) {
        parsed.push_back(std::move(element));
      } else {
        all_ok = false;
      }
    }
    if (all_ok) *member_ = std::move(parsed);
  }

  static std::string FormatElement(const Element& value) {
    if constexpr (std::is_enum_v<Element>) {
      return std::string(EnumName(value));
    } else {
      return FormatScalar(value);
    }
  }

  std::string FormatValue() const {
    if constexpr (kIsList) {
      std::vector<std::string> items;
      for (const Element& element : *member_) {
        // Strings go raw so that the list emitter quotes them for flow context.
        if constexpr (std::is_same_v<Element, std::string>) {
          items.push_back(element);
        } else {
          items.push_back(FormatElement(element));
        }
      }
      return internal::FormatFlowList(items);
    } else {
      return FormatElement(*member_);
    }
  }

  T* member_;
  std::vector<Rule> rules_;
};

// A section: a YAML map whose keys are declared fields and nested sections. The default-
// constructed Binder is the root of a schema (the whole document).
class Binder final : public BoundNode {
 public:
  Binder() : BoundNode("", "", "") {}

  // Declares `key` in this section, bound to `*member`; chain rules on the result.
  template <typename T>
  TypedField<T>& Field(absl::string_view key, T* member, absl::string_view doc) {
    auto field = std::make_unique<TypedField<T>>(key, ChildPath(key), doc, member);
    TypedField<T>& result = *field;
    children_.push_back(std::move(field));
    return result;
  }

  // Declares the nested section `key` and returns it for its own declarations.
  Binder& Section(absl::string_view key, absl::string_view doc);

  void Parse(const YAML::Node& value, int key_line, internal::ParseState& state) const override;
  void Render(int indent, std::string* out) const override;

  // Appends the dotted path of every field and section under this one, in declaration order.
  void CollectPaths(std::vector<std::string>* paths) const;

 private:
  Binder(absl::string_view key, absl::string_view path, absl::string_view doc)
      : BoundNode(key, path, doc) {}

  std::string ChildPath(absl::string_view key) const;
  const BoundNode* Find(absl::string_view key) const;
  // " (did you mean 'x'?)" for an unknown key, or "".
  std::string Suggest(absl::string_view unknown, const internal::ParseState& state) const;
  void ParseEntry(const YAML::Node& key, const YAML::Node& value,
                  absl::flat_hash_map<std::string, int>& seen, internal::ParseState& state) const;

  std::vector<std::unique_ptr<BoundNode>> children_;
};

// Parses `yaml` (one document; empty means all defaults) into the members bound under `root`.
// Every problem goes to `diagnostics`; the line of every key written goes to `lines`.
void ParseYamlDocument(absl::string_view yaml, const Binder& root, Diagnostics* diagnostics,
                       KeyLines* lines);

// The bound members' current values as commented YAML that ParseYamlDocument reads back.
std::string RenderYaml(const Binder& root);

}  // namespace rein::config

#endif  // REIN_COMMON_CONFIG_YAML_BINDER_H_
