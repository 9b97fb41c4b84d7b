#include "tools/demo/corpus.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model/causal_lm.h"
#include "common/status/status_macros.h"
#include "tools/demo/jsonl.h"
#include "tools/demo/tokenizer_writer.h"
#include "tools/demo/world.h"

namespace rein::demo {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

absl::Status CheckOptions(const CorpusOptions& o) {
  if (o.out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  if (o.sft_examples < 1 || o.prompts < 1 || o.heldout_prompts < 1) {
    return absl::InvalidArgumentError(
        "--sft_examples, --prompts and --heldout_prompts must be at least 1");
  }
  const int total = World::Get().PromptCount();
  if (o.heldout_prompts >= total) {
    return absl::InvalidArgumentError(absl::StrCat("--heldout_prompts must be below ", total,
                                                   ", the number of distinct prompts"));
  }
  if (o.hidden_size < 8 || o.num_layers < 1 || o.num_heads < 1 ||
      o.hidden_size % o.num_heads != 0 || o.intermediate_size < 1 ||
      o.max_position_embeddings < 32) {
    return absl::InvalidArgumentError("bad model shape options");
  }
  std::error_code ec;
  if (fs::exists(o.out_dir, ec)) {
    if (!fs::is_directory(o.out_dir, ec)) {
      return absl::AlreadyExistsError(absl::StrCat(o.out_dir, " exists and is not a directory"));
    }
    if (!fs::is_empty(o.out_dir, ec)) {
      return absl::AlreadyExistsError(absl::StrCat(
          o.out_dir, " exists and is not empty; remove it or choose another --out"));
    }
  }
  return absl::OkStatus();
}

absl::Status CopyFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot copy ", from.string(), " to ", to.string(),
                                            ": ", ec.message()));
  }
  return absl::OkStatus();
}

Json WorldJson(const World& world, const TokenizerFiles& tokenizer) {
  Json topics = Json::array();
  for (const Topic& topic : world.topics()) {
    topics.push_back({{"name", topic.name}, {"words", topic.words}});
  }
  return {
      {"description",
       "Synthetic world of the rein-demo quickstart. For humans only: rein-demo's annotator and "
       "evaluator compute the utility in code (tools/demo/world.cc)."},
      {"prompt_template", "please <verb> <topic> with <hint1> and <hint2>"},
      {"verbs", world.verbs()},
      {"topics", std::move(topics)},
      {"fillers", world.fillers()},
      {"stop_word", std::string(kStopWord)},
      {"distinct_prompts", world.PromptCount()},
      {"utility",
       {{"on_topic_word", 1},
        {"off_topic_word", -1},
        {"filler_or_topic_name", 0},
        {"unknown_word", -1},
        {"max_free_words", kMaxFreeWords},
        {"per_word_beyond_max_free_words", -1},
        {"ends_with_stop_word", 1},
        {"does_not_end_with_stop_word", -1}}},
      {"annotator",
       {{"model", "Bradley-Terry: P(A preferred) = sigmoid((u(A) - u(B)) / temperature)"},
        {"temperature", kAnnotatorTemperature},
        {"ties", "dropped"}}},
      {"tokenizer", {{"vocab_size", tokenizer.vocab_size}, {"eos_id", tokenizer.eos_id},
                     {"eos_token", std::string(kEosToken)}}},
  };
}

}  // namespace

Json PolicyConfig(const CorpusOptions& o, int64_t vocab_size, int64_t eos_id) {
  // Not padded to a multiple of 64 as large models are: every id the policy can sample is then
  // a token the tokenizer (and so the reward's rules) can decode.
  return {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", o.hidden_size},
      {"intermediate_size", o.intermediate_size},
      {"num_hidden_layers", o.num_layers},
      {"num_attention_heads", o.num_heads},
      {"num_key_value_heads", o.num_heads},
      {"head_dim", o.hidden_size / o.num_heads},
      {"hidden_act", "silu"},
      {"max_position_embeddings", o.max_position_embeddings},
      {"initializer_range", 0.02},
      {"rms_norm_eps", 1e-5},
      {"rope_theta", 10000.0},
      {"rope_scaling", nullptr},
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"mlp_bias", false},
      {"tie_word_embeddings", false},
      {"bos_token_id", eos_id},
      {"eos_token_id", eos_id},
      {"torch_dtype", "float32"},
      {"use_cache", true},
      {"vocab_size", vocab_size},
  };
}

absl::Status WriteCorpus(const CorpusOptions& o, std::ostream& progress) {
  RETURN_IF_ERROR(CheckOptions(o));
  const World& world = World::Get();
  const fs::path root(o.out_dir);
  std::error_code ec;
  fs::create_directories(root / "tokenizer", ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", (root / "tokenizer").string(), ": ", ec.message()));
  }

  const TokenizerFiles tokenizer = BuildTokenizer(world);
  RETURN_IF_ERROR(WriteTokenizer(tokenizer, (root / "tokenizer").string()));
  progress << "corpus: tokenizer with " << tokenizer.vocab_size << " tokens (eos id "
           << tokenizer.eos_id << ") in " << (root / "tokenizer").string() << std::endl;

  // Prompt split: a seeded permutation of every distinct prompt; held-out prompts first, the
  // rest is the training pool of SFT and PPO.
  std::mt19937_64 rng(o.seed);
  std::vector<int> order(static_cast<size_t>(world.PromptCount()));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  const std::vector<int> heldout(order.begin(), order.begin() + o.heldout_prompts);
  const std::vector<int> pool(order.begin() + o.heldout_prompts, order.end());

  std::vector<Json> lines;
  for (int index : heldout) lines.push_back({{"prompt", world.PromptAt(index)}});
  RETURN_IF_ERROR(WriteJsonl((root / "heldout_prompts.jsonl").string(), lines));
  lines.clear();
  std::vector<int> training = pool;
  std::shuffle(training.begin(), training.end(), rng);
  for (int i = 0; i < o.prompts; ++i) {
    lines.push_back({{"prompt", world.PromptAt(training[static_cast<size_t>(i) % training.size()])}});
  }
  RETURN_IF_ERROR(WriteJsonl((root / "prompts.jsonl").string(), lines));
  progress << "corpus: " << o.prompts << " training prompts, " << o.heldout_prompts
           << " held-out prompts (disjoint; " << world.PromptCount() << " distinct in all)"
           << std::endl;

  lines.clear();
  double utility_sum = 0;
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  for (int i = 0; i < o.sft_examples; ++i) {
    const int index = pool[pick(rng)];
    const std::string prompt = world.PromptAt(index);
    const int topic = *world.TopicOfPrompt(prompt);
    std::string response = world.SampleSftResponse(topic, rng);
    utility_sum += world.Utility(topic, response);
    lines.push_back({{"prompt", prompt}, {"response", std::move(response)}});
  }
  RETURN_IF_ERROR(WriteJsonl((root / "sft.jsonl").string(), lines));
  progress << "corpus: " << o.sft_examples << " SFT examples, mean utility "
           << utility_sum / o.sft_examples << std::endl;

  const fs::path init = root / "policy-init";
  const Json config = PolicyConfig(o, tokenizer.vocab_size, tokenizer.eos_id);
  ASSIGN_OR_RETURN(std::unique_ptr<model::CausalLM> policy,
                   model::CausalLM::CreateRandom(config, o.seed));
  RETURN_IF_ERROR(policy->Save(init.string()));
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    RETURN_IF_ERROR(CopyFile(root / "tokenizer" / name, init / name));
  }
  int64_t parameters = 0;
  for (const at::Tensor& p : policy->Parameters()) parameters += p.numel();
  progress << "corpus: random policy (llama, hidden " << o.hidden_size << ", " << o.num_layers
           << " layers, " << parameters << " parameters) in " << init.string() << std::endl;

  RETURN_IF_ERROR(WriteJsonFile((root / "world.json").string(), WorldJson(world, tokenizer)));
  progress << "corpus: done: " << root.string() << std::endl;
  return absl::OkStatus();
}

}  // namespace rein::demo
