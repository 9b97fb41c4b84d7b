#include "services/reinctl/feedback_sample.h"

#include <c10/core/Device.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/hash/stable_hash.h"
#include "common/model/causal_lm.h"
#include "common/model/generator.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/tokenizer/tokenizer.h"
#include "rein/v1/rollout.grpc.pb.h"
#include "services/reinctl/feedback_items.h"

namespace rein::reinctl {
namespace {

using Json = nlohmann::json;

// One usable line of the prompts file.
struct PromptInput {
  int line = 0;
  std::string prompt;
  std::vector<rein::v1::ChatMessage> context;  // empty for a plain prompt
  std::string key;                             // what the item's id and seeds hash
  std::vector<int64_t> ids;
};

// One response to draw: a prompt and the seed of its random stream.
struct Draw {
  const PromptInput* prompt;
  uint64_t seed;
};

struct Drawn {
  std::vector<int64_t> ids;
  int64_t policy_version = 0;
};

absl::StatusOr<std::vector<PromptInput>> ReadPrompts(const SampleOptions& options,
                                                     const tokenizer::Tokenizer& tok) {
  const bool chat = tok.chat_format().format != tokenizer::ChatFormat::kNone;
  std::vector<PromptInput> prompts;
  absl::Status status =
      ForEachJsonLine(options.prompts_path, [&](const Json& record, int line) -> absl::Status {
        if (options.limit > 0 && static_cast<int64_t>(prompts.size()) >= options.limit) {
          return absl::OkStatus();
        }
        const bool has_prompt = record.contains("prompt"),
                   has_messages = record.contains("messages");
        if (has_prompt == has_messages) {
          return absl::InvalidArgumentError("expected exactly one of \"prompt\" and \"messages\"");
        }
        PromptInput input;
        input.line = line;
        std::vector<tokenizer::ChatMessage> turns;
        if (has_prompt) {
          if (!record["prompt"].is_string()) {
            return absl::InvalidArgumentError("\"prompt\" must be a string");
          }
          input.prompt = input.key = record["prompt"].get<std::string>();
          turns.push_back({"user", input.prompt, std::nullopt});
        } else {
          ASSIGN_OR_RETURN(input.context, ParseMessages(record["messages"]));
          if (!chat) {
            return absl::InvalidArgumentError(
                "\"messages\" needs a tokenizer with a chat format (ChatML or Llama 3)");
          }
          input.prompt = LastUserTurn(input.context);
          input.key = record["messages"].dump();
          for (const rein::v1::ChatMessage& m : input.context) {
            turns.push_back({m.role(), m.content(), std::nullopt});
          }
        }
        absl::StatusOr<std::vector<tokenizer::TokenId>> ids =
            absl::InvalidArgumentError("unreachable");
        if (chat) {
          tokenizer::ChatOptions chat_options;
          chat_options.add_generation_prompt = true;
          ids = tok.EncodeChat(turns, chat_options);
        } else {
          ids = tok.Encode(input.prompt);
        }
        if (!ids.ok()) return ids.status();
        if (ids->empty()) return absl::InvalidArgumentError("the prompt encodes to no tokens");
        input.ids.assign(ids->begin(), ids->end());
        prompts.push_back(std::move(input));
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (prompts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", options.prompts_path, "' holds no prompt"));
  }
  return prompts;
}

// Where responses come from.
class Backend {
 public:
  virtual ~Backend() = default;
  // Checks every prompt against the model before anything is sampled; errors name the line.
  virtual absl::Status Check(const std::vector<PromptInput>& prompts) = 0;
  // One response per draw, in draw order.
  virtual absl::StatusOr<std::vector<Drawn>> Sample(const std::vector<Draw>& draws) = 0;
  // What provenance.model records.
  virtual const std::string& model() const = 0;
};

absl::StatusOr<c10::Device> ParseDevice(const std::string& text) {
  if (text == "cpu") return c10::Device(c10::kCPU);
  if (text == "cuda") return c10::Device(c10::kCUDA, 0);
  int index = 0;
  if (absl::string_view rest = text; absl::ConsumePrefix(&rest, "cuda:") &&
                                     absl::SimpleAtoi(rest, &index) && index >= 0 && index < 64) {
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--device: '", text, "' is not cpu, cuda or cuda:N"));
}

// The policy in this process. LibTorch errors are turned into Status here, so that none leaves
// the sampler as an exception.
class LocalPolicy final : public Backend {
 public:
  static absl::StatusOr<std::unique_ptr<LocalPolicy>> Create(const SampleOptions& options,
                                                             const tokenizer::Tokenizer& tok) {
    ASSIGN_OR_RETURN(const c10::Device device, ParseDevice(options.device));
    try {
      model::ModelOptions model_options;
      model_options.device = device;
      absl::StatusOr<std::unique_ptr<model::CausalLM>> lm =
          model::CausalLM::Load(options.policy_dir, model_options);
      if (!lm.ok()) {
        return absl::Status(lm.status().code(),
                            absl::StrCat("cannot load the policy '", options.policy_dir,
                                         "': ", lm.status().message()));
      }
      auto policy = std::unique_ptr<LocalPolicy>(new LocalPolicy(options, *std::move(lm)));
      policy->generate_.sampling = {.temperature = static_cast<float>(options.temperature),
                                    .top_k = 0,
                                    .top_p = static_cast<float>(options.top_p)};
      policy->generate_.max_new_tokens = options.max_new_tokens;
      // config.json's EOS stops a plain model; a chat model ends its turn with the tokenizer's
      // EOS (Qwen's <|im_end|>), which config.json may not name.
      if (tok.special_ids().eos) policy->generate_.stop_token_ids = {*tok.special_ids().eos};
      return policy;
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("loading the policy: ", e.what()));
    }
  }

  absl::Status Check(const std::vector<PromptInput>& prompts) override {
    const model::ModelConfig& config = lm_->config();
    const int64_t positions =
        config.family == model::Family::kGpt2 ? config.max_position_embeddings : int64_t{1} << 20;
    int64_t longest = 0;
    for (const PromptInput& p : prompts) {
      for (int64_t id : p.ids) {
        if (id >= config.vocab_size) {
          return absl::InvalidArgumentError(
              absl::StrCat(options_.prompts_path, ":", p.line, ": token ", id,
                           " is outside the policy's vocabulary of ", config.vocab_size,
                           " (is --tokenizer the policy's?)"));
        }
      }
      const int64_t length = static_cast<int64_t>(p.ids.size());
      if (length + options_.max_new_tokens - 1 > positions) {
        return absl::InvalidArgumentError(absl::StrCat(
            options_.prompts_path, ":", p.line, ": prompt of ", length,
            " tokens + --max-new-tokens exceeds the policy's ", positions, " positions"));
      }
      longest = std::max(longest, length);
    }
    try {
      ASSIGN_OR_RETURN(generator_,
                       model::Generator::Create(
                           *lm_, {.max_batch_size = std::min<int64_t>(
                                      32, int64_t{options_.batch_prompts} * options_.k),
                                  .max_sequence_length = longest + options_.max_new_tokens - 1}));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("preparing the generator: ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Drawn>> Sample(const std::vector<Draw>& draws) override {
    std::vector<model::GenerationRequest> requests;
    for (const Draw& d : draws) requests.push_back({d.prompt->ids, d.seed});
    try {
      ASSIGN_OR_RETURN(std::vector<model::GenerationResult> results,
                       generator_->Generate(requests, generate_));
      std::vector<Drawn> drawn;
      for (model::GenerationResult& r : results) {
        drawn.push_back({std::move(r.output_ids), options_.policy_version});
      }
      return drawn;
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("sampling: ", e.what()));
    }
  }

  const std::string& model() const override { return model_; }

 private:
  LocalPolicy(const SampleOptions& options, std::unique_ptr<model::CausalLM> lm)
      : options_(options),
        lm_(std::move(lm)),
        model_(std::filesystem::absolute(options.policy_dir).lexically_normal().string()) {}

  const SampleOptions& options_;
  std::unique_ptr<model::CausalLM> lm_;
  std::unique_ptr<model::Generator> generator_;  // sized by Check
  model::GenerateOptions generate_;
  std::string model_;
};

// A rein-rollout service. Each draw is its own GeneratePrompt with n = 1, so that its recorded
// seed alone reproduces it.
class RolloutService final : public Backend {
 public:
  static absl::StatusOr<std::unique_ptr<RolloutService>> Create(const SampleOptions& options,
                                                                const tokenizer::Tokenizer& tok) {
    ASSIGN_OR_RETURN(auto channel,
                     rpc::CreateChannel(options.rollout_address, options.rollout_client));
    auto service = std::unique_ptr<RolloutService>(new RolloutService(options));
    service->stub_ = rein::v1::Rollout::NewStub(channel);
    rein::v1::SamplingParams& s = service->sampling_;
    // On the wire temperature 0 means 1.0, so greedy is its own flag.
    s.set_greedy(options.temperature == 0);
    s.set_temperature(static_cast<float>(options.temperature));
    s.set_top_p(static_cast<float>(options.top_p));
    s.set_max_new_tokens(options.max_new_tokens);
    if (tok.special_ids().eos) s.add_stop_token_ids(*tok.special_ids().eos);
    return service;
  }

  // The rollout checks lengths and ids itself and names the prompt; nothing to add here.
  absl::Status Check(const std::vector<PromptInput>&) override { return absl::OkStatus(); }

  absl::StatusOr<std::vector<Drawn>> Sample(const std::vector<Draw>& draws) override {
    rein::v1::GenerateRequest request;
    *request.mutable_sampling() = sampling_;
    request.set_samples_per_prompt(1);
    for (size_t i = 0; i < draws.size(); ++i) {
      rein::v1::GeneratePrompt* p = request.add_prompts();
      p->set_prompt_id(i);
      p->set_seed(draws[i].seed);
      for (int64_t id : draws[i].prompt->ids) p->add_token_ids(static_cast<int32_t>(id));
    }
    rein::v1::GenerateResponse response;
    auto context = rpc::NewCallContext(options_.rollout_client, options_.generate_timeout);
    grpc::Status status = stub_->Generate(context.get(), request, &response);
    if (!status.ok()) {
      const absl::Status s = FromGrpcStatus(status);
      std::string message =
          absl::StrCat("rein.v1.Rollout/Generate to ", options_.rollout_address, ": ",
                       absl::StatusCodeToString(s.code()), ": ", s.message());
      if (s.code() == absl::StatusCode::kUnavailable) {
        absl::StrAppend(&message, " (is rein-rollout running at ", options_.rollout_address, "?)");
      }
      return absl::Status(s.code(), message);
    }
    std::vector<std::optional<Drawn>> drawn(draws.size());
    for (const rein::v1::Completion& c : response.completions()) {
      if (c.prompt_id() >= draws.size() || drawn[c.prompt_id()]) {
        return absl::InternalError(absl::StrCat("the rollout at ", options_.rollout_address,
                                                " answered with an unexpected prompt_id ",
                                                c.prompt_id()));
      }
      drawn[c.prompt_id()] = Drawn{{c.token_ids().begin(), c.token_ids().end()},
                                   static_cast<int64_t>(response.policy_version())};
    }
    std::vector<Drawn> out;
    for (size_t i = 0; i < drawn.size(); ++i) {
      if (!drawn[i]) {
        return absl::InternalError(absl::StrCat("the rollout at ", options_.rollout_address,
                                                " returned no completion for prompt ", i));
      }
      out.push_back(*std::move(drawn[i]));
    }
    return out;
  }

  const std::string& model() const override { return options_.rollout_address; }

 private:
  explicit RolloutService(const SampleOptions& options) : options_(options) {}

  const SampleOptions& options_;
  std::unique_ptr<rein::v1::Rollout::Stub> stub_;
  rein::v1::SamplingParams sampling_;
};

// The text of a response. Ids the tokenizer does not know (a model's embedding is often padded
// past the vocabulary) carry no text and are left out rather than failing the whole batch.
absl::StatusOr<std::string> Decode(const tokenizer::Tokenizer& tok,
                                   const std::vector<int64_t>& ids) {
  std::vector<tokenizer::TokenId> known;
  for (int64_t id : ids) {
    if (id >= 0 && id < tok.vocab_size() && tok.IsValidId(static_cast<tokenizer::TokenId>(id))) {
      known.push_back(static_cast<tokenizer::TokenId>(id));
    }
  }
  tokenizer::DecodeOptions decode;
  decode.skip_special_tokens = true;
  return tok.Decode(known, decode);
}

absl::Status CheckOptions(const SampleOptions& o) {
  if (o.policy_dir.empty() == o.rollout_address.empty()) {
    return absl::InvalidArgumentError("give exactly one of --policy DIR and --rollout HOST:PORT");
  }
  if (o.tokenizer_dir.empty() && o.policy_dir.empty()) {
    return absl::InvalidArgumentError("--rollout needs --tokenizer DIR (the policy's tokenizer)");
  }
  if (o.k < 2 || o.k > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("--k ", o.k, ": an item holds 2 to 16 responses"));
  }
  if (o.max_new_tokens < 1) return absl::InvalidArgumentError("--max-new-tokens must be >= 1");
  if (!(o.temperature >= 0)) return absl::InvalidArgumentError("--temperature must be >= 0");
  if (!(o.top_p > 0 && o.top_p <= 1))
    return absl::InvalidArgumentError("--top-p must be in (0, 1]");
  if (o.batch_prompts < 1) return absl::InvalidArgumentError("batch size must be >= 1");
  return absl::OkStatus();
}

}  // namespace

absl::Status SampleItems(const SampleOptions& options, const ItemSink& sink) {
  RETURN_IF_ERROR(CheckOptions(options));
  const std::string tokenizer_dir =
      options.tokenizer_dir.empty() ? options.policy_dir : options.tokenizer_dir;
  absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> tok =
      tokenizer::Tokenizer::FromDirectory(tokenizer_dir);
  if (!tok.ok()) {
    return absl::Status(
        tok.status().code(),
        absl::StrCat("cannot load the tokenizer '", tokenizer_dir, "': ", tok.status().message()));
  }
  ASSIGN_OR_RETURN(const std::vector<PromptInput> prompts, ReadPrompts(options, **tok));

  std::unique_ptr<Backend> backend;
  if (!options.policy_dir.empty()) {
    ASSIGN_OR_RETURN(backend, LocalPolicy::Create(options, **tok));
  } else {
    ASSIGN_OR_RETURN(backend, RolloutService::Create(options, **tok));
  }
  RETURN_IF_ERROR(backend->Check(prompts));

  const std::string sampling = Json{
      {"temperature", options.temperature},
      {"top_p", options.top_p},
      {"max_new_tokens",
       options.max_new_tokens}}.dump();
  for (size_t begin = 0; begin < prompts.size(); begin += options.batch_prompts) {
    const size_t end = std::min(prompts.size(), begin + options.batch_prompts);
    std::vector<rein::v1::Item> items;
    std::vector<Draw> draws;
    for (size_t i = begin; i < end; ++i) {
      const PromptInput& p = prompts[i];
      const std::string identity = absl::StrCat(options.seed, "\n", p.key);
      rein::v1::Item& item = items.emplace_back();
      item.set_external_id(StableId("s-", identity));
      item.set_prompt(p.prompt);
      for (const rein::v1::ChatMessage& m : p.context) *item.add_context() = m;
      const uint64_t hash = StableHash(identity);
      for (int j = 0; j < options.k; ++j) draws.push_back({&p, hash::SplitMix64(hash + j)});
    }
    ASSIGN_OR_RETURN(std::vector<Drawn> drawn, backend->Sample(draws));
    for (size_t d = 0; d < draws.size(); ++d) {
      absl::StatusOr<std::string> text = Decode(**tok, drawn[d].ids);
      if (!text.ok()) {
        return absl::Status(text.status().code(),
                            absl::StrCat(options.prompts_path, ":", draws[d].prompt->line,
                                         ": cannot decode a response: ", text.status().message()));
      }
      rein::v1::ItemResponse* response = items[d / options.k].add_responses();
      response->set_text(*std::move(text));
      rein::v1::Provenance* provenance = response->mutable_provenance();
      provenance->set_policy_version(drawn[d].policy_version);
      provenance->set_model(backend->model());
      provenance->set_seed(draws[d].seed);
      provenance->set_sampling_json(sampling);
      provenance->set_synthetic(true);
    }
    RETURN_IF_ERROR(sink(std::move(items), end, prompts.size()));
  }
  return absl::OkStatus();
}

}  // namespace rein::reinctl
