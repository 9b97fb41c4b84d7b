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
  if (!(o.red_team_share >= 0 && o.red_team_share < 1)) {
    return absl::InvalidArgumentError("--red_team_share must be in [0, 1)");
  }
  const int red_team_total = World::Get().RedTeamPromptCount();
  if (o.red_team_prompts < 1 || o.red_team_train_prompts < 1 ||
      o.red_team_prompts + o.red_team_train_prompts >= red_team_total) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--red_team_prompts and --red_team_train_prompts must be at least 1 and together below ",
        red_team_total, ", the number of distinct red-team prompts"));
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

// A seeded permutation of [0, count): the first `heldout` indices and the rest.
struct PromptSplit {
  std::vector<int> heldout;
  std::vector<int> pool;
};

PromptSplit SplitPrompts(int count, int heldout, std::mt19937_64& rng) {
  std::vector<int> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  return {std::vector<int>(order.begin(), order.begin() + heldout),
          std::vector<int>(order.begin() + heldout, order.end())};
}

// {"prompt", "category"} lines for red-team prompt indices.
absl::Status WriteRedTeam(const World& world, const std::vector<int>& indices,
                          const fs::path& path) {
  std::vector<Json> lines;
  for (int index : indices) {
    const std::string prompt = world.RedTeamPromptAt(index);
    lines.push_back(
        {{"prompt", prompt}, {"category", *world.HarmCategory(*world.HarmHintOfPrompt(prompt))}});
  }
  return WriteJsonl(path.string(), lines);
}

Json WorldJson(const World& world, const TokenizerFiles& tokenizer) {
  Json topics = Json::array();
  for (const Topic& topic : world.topics()) {
    topics.push_back({{"name", topic.name}, {"words", topic.words}});
  }
  Json harm = Json::array();
  for (const HarmClass& c : world.harm_classes()) {
    harm.push_back({{"category", c.category}, {"words", c.words}});
  }
  return {
      {"description",
       "Synthetic world of the rein-demo quickstart. For humans only: rein-demo's annotator and "
       "evaluator compute the utility in code (tools/demo/world.cc)."},
      {"prompt_template", "please <verb> <topic> with <hint1> and <hint2>"},
      {"verbs", world.verbs()},
      {"topics", std::move(topics)},
      {"fillers", world.fillers()},
      {"harm", std::move(harm)},
      {"red_team_prompt_template", "please <verb> <topic> with <topic word> and <harm word>, "
                                   "either order"},
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
        {"does_not_end_with_stop_word", -1},
        {"harm_word", 0}}},
      {"flags", "a response holding a harm word is flagged with the word's category"},
      {"sft_harm", {{"echo_red_team_hint", kSftEchoHarm}, {"stray", kSftStrayHarm}}},
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
  // rest is the training pool of SFT and PPO. Red-team prompts likewise.
  std::mt19937_64 rng(o.seed);
  const PromptSplit benign = SplitPrompts(world.PromptCount(), o.heldout_prompts, rng);
  const PromptSplit red_team =
      SplitPrompts(world.RedTeamPromptCount(), o.red_team_prompts, rng);

  std::vector<Json> lines;
  for (int index : benign.heldout) lines.push_back({{"prompt", world.PromptAt(index)}});
  RETURN_IF_ERROR(WriteJsonl((root / "heldout_prompts.jsonl").string(), lines));
  RETURN_IF_ERROR(WriteRedTeam(world, red_team.heldout, root / "red_team.jsonl"));
  RETURN_IF_ERROR(WriteRedTeam(
      world,
      std::vector<int>(red_team.pool.begin(), red_team.pool.begin() + o.red_team_train_prompts),
      root / "red_team_train.jsonl"));

  // Training prompts: each a red-team prompt with probability red_team_share.
  std::bernoulli_distribution is_red_team(o.red_team_share);
  std::uniform_int_distribution<size_t> pick_benign(0, benign.pool.size() - 1);
  std::uniform_int_distribution<size_t> pick_red_team(0, red_team.pool.size() - 1);
  auto training_prompt = [&] {
    return is_red_team(rng) ? world.RedTeamPromptAt(red_team.pool[pick_red_team(rng)])
                            : world.PromptAt(benign.pool[pick_benign(rng)]);
  };
  lines.clear();
  for (int i = 0; i < o.prompts; ++i) lines.push_back({{"prompt", training_prompt()}});
  RETURN_IF_ERROR(WriteJsonl((root / "prompts.jsonl").string(), lines));
  progress << "corpus: " << o.prompts << " training prompts (" << o.red_team_share * 100
           << "% red-team), " << o.heldout_prompts << " held-out prompts and "
           << o.red_team_prompts << " held-out red-team prompts (disjoint from training; "
           << world.PromptCount() << " + " << world.RedTeamPromptCount() << " distinct in all)"
           << std::endl;

  lines.clear();
  double utility_sum = 0;
  int harmful = 0;
  for (int i = 0; i < o.sft_examples; ++i) {
    const std::string prompt = training_prompt();
    std::string response = world.SampleSftResponseFor(prompt, rng);
    utility_sum += world.UtilityForPrompt(prompt, response);
    harmful += world.Harmful(response);
    lines.push_back({{"prompt", prompt}, {"response", std::move(response)}});
  }
  RETURN_IF_ERROR(WriteJsonl((root / "sft.jsonl").string(), lines));
  progress << "corpus: " << o.sft_examples << " SFT examples, mean utility "
           << utility_sum / o.sft_examples << ", " << harmful << " hold a harm word"
           << std::endl;

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
