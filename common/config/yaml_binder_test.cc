#include "common/config/yaml_binder.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace rein::config {

enum class Color { kRed, kGreen };
template <>
struct EnumNames<Color> {
  static constexpr EnumEntry<Color> kEntries[] = {{"red", Color::kRed}, {"green", Color::kGreen}};
};

namespace {

// One member of every supported kind, plus a nested section.
struct Toy {
  bool flag = false;
  int32_t count = 1;
  int64_t big = 2;
  uint64_t seed = 3;
  double ratio = 0.5;
  std::string name = "toy";
  absl::Duration timeout = absl::Seconds(1);
  Color color = Color::kRed;
  std::vector<std::string> tags;
  std::vector<int32_t> ids;
  int32_t depth = 4;              // in section `inner`
  std::string flavour = "plain";  // in section `inner`
};

void BindToy(Toy* t, Binder* root) {
  Binder& top = root->Section("top", "Scalars.");
  top.Field("flag", &t->flag, "A switch.");
  top.Field("count", &t->count, "How many.").Positive();
  top.Field("big", &t->big, "A wide integer.");
  top.Field("seed", &t->seed, "Unsigned.");
  top.Field("ratio", &t->ratio, "A fraction.").Range(0.0, 1.0);
  top.Field("name", &t->name, "A name.");
  top.Field("timeout", &t->timeout, "A deadline.").Positive();
  top.Field("color", &t->color, "A colour.");
  Binder& lists = root->Section("lists", "Lists.");
  lists.Field("tags", &t->tags, "Words.");
  lists.Field("ids", &t->ids, "Numbers.").NonNegative();
  Binder& inner = lists.Section("inner", "Nested.");
  inner.Field("depth", &t->depth, "Depth.").Positive();
  inner.Field("flavour", &t->flavour, "Taste.").OneOf({"plain", "salted"});
}

struct Parsed {
  Toy toy;
  KeyLines lines;
  absl::Status status;
};

Parsed ParseToy(absl::string_view yaml) {
  Parsed parsed;
  Binder root;
  BindToy(&parsed.toy, &root);
  Diagnostics diagnostics("toy.yaml");
  ParseYamlDocument(yaml, root, &diagnostics, &parsed.lines);
  parsed.status = diagnostics.ToStatus();
  return parsed;
}

std::string ErrorOf(absl::string_view yaml) {
  Parsed parsed = ParseToy(yaml);
  REQUIRE_FALSE(parsed.status.ok());
  CHECK(parsed.status.code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status.message());
}

TEST_CASE("every field kind parses") {
  Parsed p = ParseToy(
      "top:\n"
      "  flag: true\n"
      "  count: 12\n"
      "  big: 9000000000\n"
      "  seed: 18446744073709551615\n"
      "  ratio: 0.25\n"
      "  name: \"hello: world\"\n"
      "  timeout: 1500ms\n"
      "  color: green\n"
      "lists:\n"
      "  tags: [a, 'b c']\n"
      "  ids:\n"
      "    - 5\n"
      "    - 0\n"
      "  inner:\n"
      "    depth: 9\n"
      "    flavour: salted\n");
  REQUIRE(p.status.ok());
  CHECK(p.toy.flag);
  CHECK(p.toy.count == 12);
  CHECK(p.toy.big == 9000000000LL);
  CHECK(p.toy.seed == UINT64_MAX);
  CHECK(p.toy.ratio == 0.25);
  CHECK(p.toy.name == "hello: world");
  CHECK(p.toy.timeout == absl::Milliseconds(1500));
  CHECK(p.toy.color == Color::kGreen);
  CHECK(p.toy.tags == std::vector<std::string>{"a", "b c"});
  CHECK(p.toy.ids == std::vector<int32_t>{5, 0});
  CHECK(p.toy.depth == 9);
  CHECK(p.toy.flavour == "salted");
  CHECK(p.lines.LineOf("top.count") == 3);
  CHECK(p.lines.LineOf("lists.inner.flavour") == 17);
  CHECK(p.lines.LineOf("top.big") == 4);
  CHECK(p.lines.LineOf("top.nothing") == 0);
}

TEST_CASE("empty values mean empty string, empty list and default section") {
  Toy defaults;
  Parsed p = ParseToy("top:\n  name:\nlists:\n  tags: ~\n  inner:\n");
  REQUIRE(p.status.ok());
  CHECK(p.toy.name.empty());
  CHECK(p.toy.tags.empty());
  CHECK(p.toy.depth == defaults.depth);
  CHECK(ErrorOf("top:\n  count:\n") ==
        "toy.yaml:2: top.count: expected a positive integer, got an empty value");
}

TEST_CASE("an unknown key names its path and line and suggests the nearest key") {
  CHECK(ErrorOf("top:\n  flag: true\n  cuont: 3\n") ==
        "toy.yaml:3: unknown key 'top.cuont' (did you mean 'count'?)");
  CHECK(ErrorOf("tpo:\n  flag: true\n") == "toy.yaml:1: unknown key 'tpo' (did you mean 'top'?)");
  // The right key in the wrong section.
  CHECK(ErrorOf("top:\n  depth: 3\n") ==
        "toy.yaml:2: unknown key 'top.depth' (did you mean 'lists.inner.depth'?)");
  CHECK(ErrorOf("top:\n  zzzzzzzz: 3\n") == "toy.yaml:2: unknown key 'top.zzzzzzzz'");
}

TEST_CASE("a bad value names the key, the line and what was expected") {
  CHECK(ErrorOf("top:\n  count: abc\n") ==
        "toy.yaml:2: top.count: expected a positive integer, got 'abc'");
  CHECK(ErrorOf("top:\n  count: 0\n") ==
        "toy.yaml:2: top.count: expected a positive integer, got '0'");
  CHECK(ErrorOf("top:\n  big: 99999999999999999999\n") ==
        "toy.yaml:2: top.big: expected an integer, got '99999999999999999999' (out of range)");
  CHECK(ErrorOf("top:\n  seed: -1\n") ==
        "toy.yaml:2: top.seed: expected a non-negative integer, got '-1'");
  CHECK(ErrorOf("top:\n  ratio: 1.5\n") ==
        "toy.yaml:2: top.ratio: expected a number in [0.0, 1.0], got '1.5'");
  CHECK(ErrorOf("top:\n  flag: maybe\n") ==
        "toy.yaml:2: top.flag: expected a boolean (true or false), got 'maybe'");
  CHECK(ErrorOf("top:\n  color: blue\n") ==
        "toy.yaml:2: top.color: expected one of red, green, got 'blue'");
  CHECK(ErrorOf("top:\n  timeout: 30\n") ==
        "toy.yaml:2: top.timeout: expected a positive duration such as 30s, 500ms or 2m, got "
        "'30'");
  CHECK(ErrorOf("lists:\n  inner:\n    flavour: sweet\n") ==
        "toy.yaml:3: lists.inner.flavour: expected one of plain, salted, got 'sweet'");
}

TEST_CASE("a bad list element names its index and line") {
  CHECK(ErrorOf("lists:\n  ids:\n    - 1\n    - x\n") ==
        "toy.yaml:4: lists.ids[1]: expected a non-negative integer, got 'x'");
  CHECK(ErrorOf("lists:\n  ids: [1, -2]\n") ==
        "toy.yaml:2: lists.ids[1]: expected a non-negative integer, got '-2'");
  Parsed p = ParseToy("lists:\n  ids: [1, x]\n");
  CHECK(p.toy.ids.empty());  // a list with a bad element is not half-assigned
}

TEST_CASE("the wrong kind of node is an error") {
  CHECK(ErrorOf("top:\n  count: {a: 1}\n") ==
        "toy.yaml:2: top.count: expected a positive integer, got a map");
  CHECK(ErrorOf("top:\n  name: [a]\n") == "toy.yaml:2: top.name: expected a string, got a list");
  CHECK(ErrorOf("top: 5\n") == "toy.yaml:1: top: expected a map, got '5'");
  CHECK(ErrorOf("top:\n  - flag\n") == "toy.yaml:2: top: expected a map, got a list");
  CHECK(ErrorOf("lists:\n  tags: word\n") == "toy.yaml:2: lists.tags: expected a list, got 'word'");
  CHECK(ErrorOf("lists:\n  tags: [[a]]\n") ==
        "toy.yaml:2: lists.tags[0]: expected a string, got a list");
  CHECK(ErrorOf("just a string\n") ==
        "toy.yaml:1: expected a map of sections, got 'just a string'");
}

TEST_CASE("a duplicate key names both lines") {
  CHECK(ErrorOf("top:\n  count: 1\n  flag: true\n  count: 2\n") ==
        "toy.yaml:4: duplicate key 'top.count' (first written on line 2)");
}

TEST_CASE("a YAML syntax error names its line") {
  const std::string error = ErrorOf("top:\n  count: 1\n   flag: [true\n");
  CHECK(absl::StartsWith(error, "toy.yaml:3: invalid YAML: "));
  CHECK(absl::StartsWith(ErrorOf("top: {count: 1\n"), "toy.yaml:2: invalid YAML: "));
  CHECK(absl::StartsWith(ErrorOf("top:\n  count: 1\n---\ntop:\n  count: 2\n"),
                         "toy.yaml:4: expected one YAML document"));
}

// Found by tests/fuzz/experiment_config_fuzzer: yaml-cpp 0.7's LoadAll loops forever (and
// allocates without bound) on these; each must be an ordinary syntax error.
TEST_CASE("a stray comma outside a flow collection is a syntax error, not an endless loop") {
  CHECK(absl::StartsWith(ErrorOf("{rd_clip}, learner:.pmo\n"), "toy.yaml:1: invalid YAML: "));
  CHECK(absl::StartsWith(ErrorOf("top:\n  count: 1\n[a], b\n"), "toy.yaml:3: invalid YAML: "));
  CHECK(absl::StartsWith(ErrorOf(","), "toy.yaml:1: invalid YAML: "));
}

// Found by tests/fuzz/experiment_config_fuzzer: a string with bytes that are not UTF-8 loaded,
// then rendered as escapes that read back as other characters.
TEST_CASE("text that is not UTF-8 is refused, naming its line and column") {
  CHECK(ErrorOf("top:\n  name: x\xff\xfe\n") ==
        "toy.yaml:2: invalid YAML: not UTF-8 text (column 10)");
  CHECK(ErrorOf("top:\n  name: \xed\xa0\x80\n") ==  // a UTF-16 surrogate
        "toy.yaml:2: invalid YAML: not UTF-8 text (column 9)");
  CHECK(absl::StartsWith(ErrorOf("\xc0\xaf: 1\n"), "toy.yaml:1: invalid YAML: not UTF-8"));
  const Parsed utf8 = ParseToy("top:\n  name: \"h\xc3\xa9llo \xe4\xb8\xad \xf0\x9f\x98\x80\"\n");
  REQUIRE(utf8.status.ok());
  CHECK(utf8.toy.name == "h\xc3\xa9llo \xe4\xb8\xad \xf0\x9f\x98\x80");
}

TEST_CASE("all errors are reported, one per line, up to a cap") {
  const std::string error = ErrorOf("top:\n  count: x\n  colr: red\nlists:\n  ids: [y]\n");
  CHECK(error ==
        "toy.yaml:2: top.count: expected a positive integer, got 'x'\n"
        "toy.yaml:3: unknown key 'top.colr' (did you mean 'color'?)\n"
        "toy.yaml:5: lists.ids[0]: expected a non-negative integer, got 'y'");
  std::string many = "top:\n";
  for (int i = 0; i < 25; ++i) many += "  unknown" + std::to_string(i) + ": 1\n";
  const std::string capped = ErrorOf(many);
  const std::vector<std::string> lines = absl::StrSplit(capped, '\n');
  CHECK(lines.size() == Diagnostics::kMaxListed + 1);
  CHECK(lines.back() == "toy.yaml: ... and 5 more errors");
}

TEST_CASE("rendered YAML documents every key and parses back to the same values") {
  Toy toy;
  toy.flag = true;
  toy.name = "a: tricky # name";
  toy.tags = {"x", "y, z"};
  toy.ids = {3, 4};
  toy.timeout = absl::Milliseconds(250);
  toy.color = Color::kGreen;
  toy.ratio = 0.1;
  Binder root;
  BindToy(&toy, &root);
  const std::string yaml = RenderYaml(root);
  CHECK(absl::StrContains(yaml, "  # How many. Must be a positive integer.\n  count: 1\n"));
  CHECK(absl::StrContains(yaml, "  # A colour. One of: red, green.\n  color: green\n"));
  CHECK(absl::StrContains(yaml, "  # Nested.\n  inner:\n    # Depth."));
  Parsed back = ParseToy(yaml);
  INFO(yaml);
  REQUIRE(back.status.ok());
  CHECK(back.toy.flag);
  CHECK(back.toy.name == toy.name);
  CHECK(back.toy.tags == toy.tags);
  CHECK(back.toy.ids == toy.ids);
  CHECK(back.toy.timeout == toy.timeout);
  CHECK(back.toy.color == toy.color);
  CHECK(back.toy.ratio == toy.ratio);
}

TEST_CASE("long docs wrap into comment lines of at most 100 columns") {
  std::string out;
  internal::AppendComment(
      std::string(30, 'w') + " " + std::string(40, 'x') + " " + std::string(40, 'y'), 4, &out);
  const std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 2);
  for (const std::string& line : lines) {
    CHECK(line.size() <= 100);
    CHECK(absl::StartsWith(line, "    # "));
  }
}

TEST_CASE("CollectPaths lists every section and field in declaration order") {
  Toy toy;
  Binder root;
  BindToy(&toy, &root);
  std::vector<std::string> paths;
  root.CollectPaths(&paths);
  CHECK(paths.front() == "top");
  CHECK(paths[1] == "top.flag");
  CHECK(paths.back() == "lists.inner.flavour");
  CHECK(paths.size() == 15);
}

}  // namespace
}  // namespace rein::config
