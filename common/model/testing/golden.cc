#include "common/model/testing/golden.h"

#include <ATen/ops/tensor.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/testing/subprocess.h"

namespace rein::model::testing {
namespace {

using Json = nlohmann::json;

at::Tensor IntMatrix(const Json& rows) {
  std::vector<int64_t> flat;
  for (const Json& row : rows) {
    for (const Json& v : row) flat.push_back(v.get<int64_t>());
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  return at::tensor(flat, at::kLong).view({n, static_cast<int64_t>(flat.size()) / n});
}

}  // namespace

const std::vector<std::string>& GoldenModelNames() {
  static const auto* names =
      new std::vector<std::string>{"tiny-gpt2",       "tiny-gpt2-legacy-names",
                                   "tiny-llama",      "tiny-llama-bf16-sharded",
                                   "tiny-llama3rope", "tiny-qwen2",
                                   "tiny-qwen3"};
  return *names;
}

absl::StatusOr<Golden> LoadGolden(const std::string& name) {
  Golden g;
  g.name = name;
  g.dir = rein::testing::SourcePath(absl::StrCat("tests/data/models/", name));
  std::ifstream in(g.dir + "/golden.json");
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", g.dir, "/golden.json"));
  std::stringstream text;
  text << in.rdbuf();
  const Json j = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("golden.json is not JSON");
  try {
    g.input_ids = IntMatrix(j.at("input_ids"));
    g.attention_mask = IntMatrix(j.at("attention_mask"));
    g.lengths = j.at("seq_lengths").get<std::vector<int64_t>>();
    for (const Json& row : j.at("logits")) {
      std::vector<float> flat;
      for (const Json& position : row) {
        for (const Json& v : position) flat.push_back(v.get<float>());
      }
      const int64_t n = static_cast<int64_t>(row.size());
      g.logits.push_back(at::tensor(flat, at::kFloat).view({n, -1}));
    }
    g.logprobs = j.at("logprobs_next_token").get<std::vector<std::vector<double>>>();
    g.sum_logprob = j.at("sum_logprob").get<std::vector<double>>();
    g.prompts = j.at("greedy").at("prompts").get<std::vector<std::vector<int64_t>>>();
    g.greedy = j.at("greedy").at("new_tokens").get<std::vector<std::vector<int64_t>>>();
    const Json& left = j.at("left_padded_variant");
    g.left_input_ids = IntMatrix(left.at("input_ids"));
    g.left_attention_mask = IntMatrix(left.at("attention_mask"));
    g.left_position_ids = IntMatrix(left.at("position_ids"));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, "/golden.json: ", e.what()));
  }
  return g;
}

double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return a.to(at::kDouble).sub(b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace rein::model::testing
