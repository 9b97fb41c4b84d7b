#include "services/reinctl/model_command.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/tensor.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/model/causal_lm.h"
#include "common/model/generator.h"
#include "common/model/scoring.h"
#include "common/tokenizer/tokenizer.h"
#include "services/reinctl/command_util.h"

namespace rein::reinctl {
namespace {

using Json = nlohmann::json;
using model::CausalLM;

struct ModelFlags {
  std::string model_dir;
  std::string tokenizer_dir;
  bool logits = false;  // score
  bool greedy = false;  // generate, and the rest below
  int64_t max_new_tokens = 128;
  float temperature = 1.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  int64_t batch_size = 32;
  std::vector<int64_t> stop_token_ids;
  bool ignore_eos = false;
};

// One parsed input line.
struct Input {
  std::vector<int64_t> ids;
  std::optional<uint64_t> seed;
};

int Fail(const char* command, const std::string& message) {
  std::cout.flush();
  std::cerr << "reinctl model " << command << ": " << message << "\n";
  return 1;
}

absl::StatusOr<Json> ParseObject(const std::string& line) {
  Json value = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return absl::InvalidArgumentError("invalid JSON");
  if (!value.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  return value;
}

absl::StatusOr<std::vector<int64_t>> IdsOf(const Json& value, int64_t vocab_size) {
  auto it = value.find("input_ids");
  if (it == value.end()) return absl::InvalidArgumentError("missing key \"input_ids\"");
  if (!it->is_array() || it->empty()) {
    return absl::InvalidArgumentError("\"input_ids\" must be a non-empty array of integers");
  }
  std::vector<int64_t> ids;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& id = (*it)[i];
    const bool in_range =
        id.is_number_unsigned()
            ? id.get<uint64_t>() < static_cast<uint64_t>(vocab_size)
            : id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < vocab_size;
    if (!in_range) {
      return absl::InvalidArgumentError(absl::StrCat("input_ids[", i, "] = ", id.dump(),
                                                     " is not a token id of the model (ids are in "
                                                     "[0, ",
                                                     vocab_size, "))"));
    }
    ids.push_back(id.get<int64_t>());
  }
  return ids;
}

// Reads every stdin line and parses it with `parse`; the first failure names its line.
template <typename Parse>
absl::StatusOr<std::vector<Input>> ReadInputs(Parse parse) {
  std::vector<Input> inputs;
  std::string line;
  for (int64_t number = 1; std::getline(std::cin, line); ++number) {
    absl::StatusOr<Input> input = absl::InvalidArgumentError("");
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      input = absl::InvalidArgumentError("empty line; expected a JSON object");
    } else if (absl::StatusOr<Json> value = ParseObject(line); value.ok()) {
      input = parse(*value);
    } else {
      input = value.status();
    }
    if (!input.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": ", input.status().message()));
    }
    inputs.push_back(*std::move(input));
  }
  return inputs;
}

absl::StatusOr<std::unique_ptr<CausalLM>> LoadModel(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<CausalLM>> lm = CausalLM::Load(dir);
  if (!lm.ok()) {
    return absl::Status(lm.status().code(),
                        absl::StrCat("cannot load the model: ", lm.status().message()));
  }
  return lm;
}

std::vector<float> ToVector(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Scores inputs [begin, end) as one right-padded batch and prints a line for each.
absl::Status ScoreBatch(const CausalLM& lm, const std::vector<Input>& inputs, size_t begin,
                        size_t end, bool with_logits) {
  at::NoGradGuard no_grad;
  size_t longest = 0;
  for (size_t i = begin; i < end; ++i) longest = std::max(longest, inputs[i].ids.size());
  const int64_t rows = static_cast<int64_t>(end - begin), width = static_cast<int64_t>(longest);
  std::vector<int64_t> ids(static_cast<size_t>(rows * width), 0), mask(ids.size(), 0);
  for (size_t i = begin; i < end; ++i) {
    const int64_t offset = static_cast<int64_t>(i - begin) * width;
    std::copy(inputs[i].ids.begin(), inputs[i].ids.end(), ids.begin() + offset);
    std::fill_n(mask.begin() + offset, inputs[i].ids.size(), 1);
  }
  model::TokenBatch batch{.input_ids = at::tensor(ids, at::kLong).view({rows, width}),
                          .attention_mask = at::tensor(mask, at::kLong).view({rows, width})};
  absl::StatusOr<at::Tensor> hidden = lm.Hidden(batch);
  if (!hidden.ok()) return hidden.status();
  std::optional<model::TokenLogProbs> logprobs;
  std::optional<model::ScalarScores> values;
  if (lm.has_lm_head() && width >= 2) {
    absl::StatusOr<model::TokenLogProbs> scored = model::LogProbsFromHidden(lm, *hidden, batch);
    if (!scored.ok()) return scored.status();
    logprobs = *std::move(scored);
  }
  if (lm.has_scalar_head()) {
    absl::StatusOr<model::ScalarScores> scored = model::ScalarFromHidden(lm, *hidden, batch);
    if (!scored.ok()) return scored.status();
    values = *std::move(scored);
  }
  for (size_t i = begin; i < end; ++i) {
    const int64_t row = static_cast<int64_t>(i - begin);
    const int64_t n = static_cast<int64_t>(inputs[i].ids.size());
    Json out = Json::object();
    if (lm.has_lm_head()) {
      out["logprobs"] =
          logprobs ? ToVector(logprobs->logprobs[row].narrow(0, 0, n - 1)) : std::vector<float>{};
    }
    if (with_logits && lm.has_lm_head()) {
      absl::StatusOr<at::Tensor> logits = lm.LmLogits((*hidden)[row].narrow(0, 0, n));
      if (!logits.ok()) return logits.status();
      Json rows_json = Json::array();
      for (int64_t t = 0; t < n; ++t) rows_json.push_back(ToVector((*logits)[t]));
      out["logits"] = std::move(rows_json);
    }
    if (values) {
      out["values"] = ToVector(values->per_token[row].narrow(0, 0, n));
      out["value"] = values->per_sequence[row].item<float>();
    }
    std::cout << out.dump() << '\n';
  }
  return absl::OkStatus();
}

int RunScore(const ModelFlags& flags) {
  std::ios::sync_with_stdio(false);
  absl::StatusOr<std::unique_ptr<CausalLM>> lm = LoadModel(flags.model_dir);
  if (!lm.ok()) return Fail("score", std::string(lm.status().message()));
  const int64_t vocab = (*lm)->config().vocab_size;
  absl::StatusOr<std::vector<Input>> inputs =
      ReadInputs([&](const Json& value) -> absl::StatusOr<Input> {
        absl::StatusOr<std::vector<int64_t>> ids = IdsOf(value, vocab);
        if (!ids.ok()) return ids.status();
        return Input{*std::move(ids), std::nullopt};
      });
  if (!inputs.ok()) return Fail("score", std::string(inputs.status().message()));
  // Batches of up to batch_size rows and 16384 padded tokens, in input order.
  size_t begin = 0;
  while (begin < inputs->size()) {
    size_t end = begin + 1, longest = (*inputs)[begin].ids.size();
    while (end < inputs->size() && static_cast<int64_t>(end - begin) < flags.batch_size) {
      const size_t longer = std::max(longest, (*inputs)[end].ids.size());
      if (longer * (end - begin + 1) > 16384) break;
      longest = longer;
      ++end;
    }
    if (absl::Status status = ScoreBatch(**lm, *inputs, begin, end, flags.logits); !status.ok()) {
      return Fail("score", std::string(status.message()));
    }
    begin = end;
  }
  std::cout.flush();
  return std::cout ? 0 : Fail("score", "writing to stdout failed");
}

int RunGenerate(const ModelFlags& flags) {
  std::ios::sync_with_stdio(false);
  std::unique_ptr<tokenizer::Tokenizer> tok;
  if (!flags.tokenizer_dir.empty()) {
    auto loaded = tokenizer::Tokenizer::FromDirectory(flags.tokenizer_dir);
    if (!loaded.ok()) {
      return Fail("generate",
                  absl::StrCat("cannot load the tokenizer: ", loaded.status().message()));
    }
    tok = *std::move(loaded);
  }
  absl::StatusOr<std::unique_ptr<CausalLM>> lm = LoadModel(flags.model_dir);
  if (!lm.ok()) return Fail("generate", std::string(lm.status().message()));
  const model::ModelConfig& config = (*lm)->config();
  const int64_t limit =
      config.family == model::Family::kGpt2 ? config.max_position_embeddings : int64_t{1} << 20;
  absl::StatusOr<std::vector<Input>> inputs =
      ReadInputs([&](const Json& value) -> absl::StatusOr<Input> {
        Input input;
        if (value.contains("text")) {
          if (!tok) return absl::InvalidArgumentError("\"text\" prompts need --tokenizer");
          if (!value["text"].is_string())
            return absl::InvalidArgumentError("\"text\" must be a string");
          auto encoded = tok->Encode(value["text"].get<std::string>());
          if (!encoded.ok()) return encoded.status();
          if (encoded->empty()) return absl::InvalidArgumentError("\"text\" encodes to no tokens");
          for (tokenizer::TokenId id : *encoded) {
            if (id >= config.vocab_size) {
              return absl::InvalidArgumentError(
                  absl::StrCat("token ", id, " of \"text\" is outside the model's vocabulary of ",
                               config.vocab_size));
            }
            input.ids.push_back(id);
          }
        } else {
          absl::StatusOr<std::vector<int64_t>> ids = IdsOf(value, config.vocab_size);
          if (!ids.ok()) return ids.status();
          input.ids = *std::move(ids);
        }
        if (value.contains("seed")) {
          if (!value["seed"].is_number_unsigned()) {
            return absl::InvalidArgumentError("\"seed\" must be a non-negative integer");
          }
          input.seed = value["seed"].get<uint64_t>();
        }
        if (static_cast<int64_t>(input.ids.size()) + flags.max_new_tokens - 1 > limit) {
          return absl::InvalidArgumentError(absl::StrCat("prompt of ", input.ids.size(),
                                                         " tokens + --max-new-tokens exceeds the "
                                                         "model's ",
                                                         limit, " positions"));
        }
        return input;
      });
  if (!inputs.ok()) return Fail("generate", std::string(inputs.status().message()));
  if (inputs->empty()) return 0;
  std::vector<model::GenerationRequest> requests;
  int64_t longest = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    Input& input = (*inputs)[i];
    longest = std::max(longest, static_cast<int64_t>(input.ids.size()));
    requests.push_back({std::move(input.ids), input.seed.value_or(flags.seed + i)});
  }
  auto generator = model::Generator::Create(
      **lm,
      {.max_batch_size = std::min<int64_t>(flags.batch_size, static_cast<int64_t>(requests.size())),
       .max_sequence_length = longest + flags.max_new_tokens - 1});
  if (!generator.ok()) return Fail("generate", std::string(generator.status().message()));
  model::GenerateOptions options{
      .sampling = {.temperature = flags.greedy ? 0.0f : flags.temperature,
                   .top_k = flags.top_k,
                   .top_p = flags.top_p},
      .max_new_tokens = flags.max_new_tokens,
      .stop_token_ids = flags.stop_token_ids,
      .stop_at_eos = !flags.ignore_eos};
  auto results = (*generator)->Generate(requests, options);
  if (!results.ok()) return Fail("generate", std::string(results.status().message()));
  for (size_t i = 0; i < results->size(); ++i) {
    const model::GenerationResult& r = (*results)[i];
    Json out = {{"output_ids", r.output_ids},
                {"logprobs", r.logprobs},
                {"finish_reason", model::FinishReasonName(r.finish_reason)}};
    if (tok) {
      std::vector<tokenizer::TokenId> ids(r.output_ids.begin(), r.output_ids.end());
      tokenizer::DecodeOptions decode;
      decode.skip_special_tokens = true;
      auto text = tok->Decode(ids, decode);
      if (!text.ok()) {
        return Fail(
            "generate",
            absl::StrCat("line ", i + 1, ": cannot decode the output: ", text.status().message()));
      }
      out["text"] = *text;
    }
    std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
  }
  std::cout.flush();
  return std::cout ? 0 : Fail("generate", "writing to stdout failed");
}

}  // namespace

void AddModelCommands(CLI::App& app) {
  auto flags = std::make_shared<ModelFlags>();
  CLI::App* group = app.add_subcommand("model", "Run a Hugging Face model folder");
  group->require_subcommand(1);
  const std::string model_help = "Model folder: config.json + model.safetensors (or shards)";

  CLI::App* score = group->add_subcommand(
      "score",
      "Log-probs of given sequences: JSONL {\"input_ids\": [...]} -> {\"logprobs\": [...]}");
  score->add_option("--model", flags->model_dir, model_help)->required();
  score->add_flag("--logits", flags->logits, "Also print every position's logits");
  score->add_option("--batch-size", flags->batch_size, "Sequences per forward pass")
      ->check(CLI::PositiveNumber);
  score->callback([flags] { ExitWith(RunScore(*flags)); });

  CLI::App* generate = group->add_subcommand(
      "generate",
      "Sample continuations: JSONL {\"input_ids\": [...]} or {\"text\": ...} -> "
      "{\"output_ids\", \"logprobs\", \"finish_reason\"}");
  generate->add_option("--model", flags->model_dir, model_help)->required();
  generate->add_option("--tokenizer", flags->tokenizer_dir,
                       "Tokenizer folder: accept {\"text\": ...} prompts and add \"text\" output");
  generate->add_flag("--greedy", flags->greedy, "Argmax decoding (ignores sampling flags)");
  generate->add_option("--max-new-tokens", flags->max_new_tokens, "Tokens to generate at most")
      ->check(CLI::PositiveNumber);
  generate->add_option("--temperature", flags->temperature, "Sampling temperature (0 = greedy)")
      ->check(CLI::NonNegativeNumber);
  generate->add_option("--top-k", flags->top_k, "Sample among the k most likely tokens (0 = all)")
      ->check(CLI::NonNegativeNumber);
  generate->add_option("--top-p", flags->top_p, "Nucleus sampling threshold in (0, 1]")
      ->check(CLI::Range(0.0, 1.0));
  generate->add_option("--seed", flags->seed,
                       "Line i samples with seed + i unless it has \"seed\"");
  generate->add_option("--batch-size", flags->batch_size, "Sequences decoded together")
      ->check(CLI::PositiveNumber);
  generate->add_option("--stop-token-id", flags->stop_token_ids,
                       "Also stop at this token (repeatable)");
  generate->add_flag("--ignore-eos", flags->ignore_eos,
                     "Do not stop at config.json's eos_token_id");
  generate->callback([flags] { ExitWith(RunGenerate(*flags)); });
}

}  // namespace rein::reinctl
