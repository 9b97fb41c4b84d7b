#include "common/config/yaml_binder.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/strings/utf8.h"

namespace rein::config {
namespace internal {

int LineOf(const YAML::Node& node, int fallback) {
  if (!node.IsDefined() || node.IsNull() || node.Mark().is_null()) return fallback;
  return node.Mark().line + 1;
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return absl::StrCat("'", node.Scalar(), "'");
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "an empty value";
  }
}

void AppendComment(absl::string_view text, int indent, std::string* out) {
  constexpr size_t kWidth = 100;
  const std::string prefix = absl::StrCat(std::string(indent, ' '), "#");
  std::string line = prefix;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (line.size() > prefix.size() && line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(out, line, "\n");
      line = prefix;
    }
    absl::StrAppend(&line, " ", word);
  }
  if (line.size() > prefix.size()) absl::StrAppend(out, line, "\n");
}

std::string FormatFlowList(const std::vector<std::string>& items) {
  YAML::Emitter emitter;
  emitter << YAML::Flow << YAML::BeginSeq;
  for (const std::string& item : items) emitter << item;
  emitter << YAML::EndSeq;
  return emitter.c_str();
}

namespace {

// Edit distance counting an adjacent swap as one edit (optimal string alignment), ASCII
// case-insensitive: "cuont" is one typo away from "count", not two. Keys are short, so the
// O(n*m) table is cheap.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  auto same = [&](size_t i, size_t j) {
    return absl::ascii_tolower(static_cast<unsigned char>(a[i])) ==
           absl::ascii_tolower(static_cast<unsigned char>(b[j]));
  };
  // d[i][j]: distance between the first i chars of a and the first j chars of b.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same(i - 1, j - 1) ? 0 : 1)});
      if (i > 1 && j > 1 && same(i - 1, j - 2) && same(i - 2, j - 1)) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

absl::string_view LastComponent(absl::string_view path) {
  const size_t dot = path.rfind('.');
  return dot == absl::string_view::npos ? path : path.substr(dot + 1);
}

}  // namespace
}  // namespace internal

Binder& Binder::Section(absl::string_view key, absl::string_view doc) {
  // The constructor is private, so make_unique cannot reach it.
  std::unique_ptr<Binder> section(new Binder(key, ChildPath(key), doc));
  Binder& result = *section;
  children_.push_back(std::move(section));
  return result;
}

std::string Binder::ChildPath(absl::string_view key) const {
  return path().empty() ? std::string(key) : absl::StrCat(path(), ".", key);
}

const BoundNode* Binder::Find(absl::string_view key) const {
  for (const auto& child : children_) {
    if (child->key() == key) return child.get();
  }
  return nullptr;
}

void Binder::CollectPaths(std::vector<std::string>* paths) const {
  for (const auto& child : children_) {
    paths->push_back(child->path());
    if (const auto* section = dynamic_cast<const Binder*>(child.get())) {
      section->CollectPaths(paths);
    }
  }
}

std::string Binder::Suggest(absl::string_view unknown, const internal::ParseState& state) const {
  // A typo of a key in this section: the closest one, if close enough to be a typo at all.
  const size_t tolerance = std::max<size_t>(1, unknown.size() / 3);
  const BoundNode* closest = nullptr;
  size_t best = tolerance + 1;
  for (const auto& child : children_) {
    const size_t distance = internal::EditDistance(unknown, child->key());
    if (distance < best) {
      best = distance;
      closest = child.get();
    }
  }
  if (closest != nullptr) return absl::StrCat(" (did you mean '", closest->key(), "'?)");

  // The right key in the wrong section, e.g. `temperature` under rollout, not rollout.sampling.
  std::vector<std::string> all;
  state.root->CollectPaths(&all);
  for (const std::string& candidate : all) {
    if (internal::LastComponent(candidate) == unknown) {
      return absl::StrCat(" (did you mean '", candidate, "'?)");
    }
  }
  return "";
}

void Binder::ParseEntry(const YAML::Node& key, const YAML::Node& value,
                        absl::flat_hash_map<std::string, int>& seen,
                        internal::ParseState& state) const {
  const int line = internal::LineOf(key, internal::LineOf(value, 0));
  if (!key.IsScalar()) {
    state.diagnostics->Add(line,
                           absl::StrCat(path().empty() ? "" : absl::StrCat(path(), ": "),
                                        "expected a plain key, got ", internal::Describe(key)));
    return;
  }
  const std::string child_path = ChildPath(key.Scalar());
  // yaml-cpp keeps both entries of a repeated key; silently taking either would hide a mistake.
  if (auto [it, inserted] = seen.emplace(key.Scalar(), line); !inserted) {
    state.diagnostics->Add(line, absl::StrCat("duplicate key '", child_path,
                                              "' (first written on line ", it->second, ")"));
    return;
  }
  const BoundNode* child = Find(key.Scalar());
  if (child == nullptr) {
    state.diagnostics->Add(
        line, absl::StrCat("unknown key '", child_path, "'", Suggest(key.Scalar(), state)));
    return;
  }
  state.lines->Record(child_path, line);
  child->Parse(value, line, state);
}

void Binder::Parse(const YAML::Node& value, int key_line, internal::ParseState& state) const {
  if (value.IsNull()) return;  // "section:" with nothing under it keeps every default
  if (!value.IsMap()) {
    const std::string got = internal::Describe(value);
    const int line = internal::LineOf(value, key_line);
    state.diagnostics->Add(line, path().empty()
                                     ? absl::StrCat("expected a map of sections, got ", got)
                                     : absl::StrCat(path(), ": expected a map, got ", got));
    return;
  }
  absl::flat_hash_map<std::string, int> seen;
  for (auto it = value.begin(); it != value.end(); ++it) {
    ParseEntry(it->first, it->second, seen, state);
  }
}

void Binder::Render(int indent, std::string* out) const {
  const bool is_root = path().empty();
  const int child_indent = is_root ? indent : indent + 2;
  if (!is_root) {
    internal::AppendComment(doc(), indent, out);
    absl::StrAppend(out, std::string(indent, ' '), key(), ":\n");
  }
  bool first = true;
  for (const auto& child : children_) {
    // A blank line before each top-level section keeps a long file scannable.
    if (is_root && !first) out->push_back('\n');
    first = false;
    child->Render(child_indent, out);
  }
}

namespace {

// Where each document of a YAML stream begins: the mark of its first event.
class DocumentMarks final : public YAML::EventHandler {
 public:
  const std::vector<YAML::Mark>& starts() const { return starts_; }

  void OnDocumentStart(const YAML::Mark&) override {
    open_ = true;
    seen_ = false;
  }
  void OnDocumentEnd() override { open_ = false; }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Saw(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Saw(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Saw(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Saw(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Saw(mark);
  }
  void OnMapEnd() override {}

 private:
  void Saw(const YAML::Mark& mark) {
    if (open_ && !seen_) starts_.push_back(mark);
    seen_ = true;
  }

  bool open_ = false;
  bool seen_ = false;  // the open document's first event has been seen
  std::vector<YAML::Mark> starts_;
};

// How many documents `yaml` holds, counting at most three. Not YAML::LoadAll: Debian's yaml-cpp
// 0.7 loops there forever, allocating, on a token no document can start with (a stray ',', as
// in "{a}, b"; jbeder/yaml-cpp#1040, fixed in 0.8 by #1319): its parser keeps reporting an empty
// document at that token without consuming it. Two documents starting at the same place are
// that loop, reported as a syntax error at the token. Found by tests/fuzz/experiment_config_fuzzer.
// Throws YAML::Exception for bad syntax, as LoadAll does.
std::vector<YAML::Mark> DocumentStarts(const std::string& yaml, std::optional<YAML::Mark>* stuck) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  DocumentMarks marks;
  for (int i = 0; i < 3 && parser.HandleNextDocument(marks); ++i) {
    const std::vector<YAML::Mark>& starts = marks.starts();
    if (starts.size() >= 2 && starts[starts.size() - 1].pos == starts[starts.size() - 2].pos) {
      *stuck = starts.back();
      break;
    }
  }
  return marks.starts();
}

}  // namespace

void ParseYamlDocument(absl::string_view yaml, const Binder& root, Diagnostics* diagnostics,
                       KeyLines* lines) {
  internal::ParseState state{diagnostics, lines, &root};
  // A YAML stream is Unicode; yaml-cpp takes other bytes as they are, and its emitter then
  // writes them as escapes that read back as different characters, so a config with them could
  // not be rendered back (found by tests/fuzz/experiment_config_fuzzer).
  if (size_t bad = 0; !strings::IsValidUtf8(yaml, &bad)) {
    const absl::string_view before = yaml.substr(0, bad);
    const size_t line_start = before.rfind('\n');
    const size_t column = line_start == absl::string_view::npos ? bad + 1 : bad - line_start;
    diagnostics->Add(static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1,
                     absl::StrCat("invalid YAML: not UTF-8 text (column ", column, ")"));
    return;
  }
  const std::string text(yaml);
  try {
    std::optional<YAML::Mark> stuck;
    const std::vector<YAML::Mark> starts = DocumentStarts(text, &stuck);
    if (stuck.has_value()) {
      throw YAML::ParserException(*stuck, "unexpected text where a value or key belongs");
    }
    if (starts.empty()) return;  // no document at all: every default
    if (starts.size() > 1) {
      diagnostics->Add(starts[1].line + 1,
                       "expected one YAML document, found more than one ('---')");
      return;
    }
    root.Parse(YAML::Load(text), 1, state);
  } catch (const YAML::Exception& e) {
    // ParserException for bad syntax; anything else from yaml-cpp is reported the same way
    // rather than escaping as an exception.
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    const std::string column =
        e.mark.is_null() ? "" : absl::StrCat(" (column ", e.mark.column + 1, ")");
    diagnostics->Add(line, absl::StrCat("invalid YAML: ", e.msg, column));
  }
}

std::string RenderYaml(const Binder& root) {
  std::string out;
  root.Render(0, &out);
  return out;
}

}  // namespace rein::config
