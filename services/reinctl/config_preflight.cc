#include "services/reinctl/config_preflight.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/config/enum_names.h"
#include "common/model/model_config.h"
#include "common/model/model_size.h"
#include "common/tokenizer/tokenizer.h"

namespace rein::reinctl {
namespace {

namespace fs = std::filesystem;
using config::ExperimentConfig;
using config::LearnerMode;

// A model folder the run loads and its config.json, once read.
struct ModelEntry {
  std::string key;  // "model.policy"
  std::string path;
  model::ModelConfig config;
};

class Preflight {
 public:
  explicit Preflight(const ExperimentConfig& c) : c_(c) {}

  std::vector<std::string> Run() {
    CheckModels();
    CheckData();
    CheckServerFiles();
    CheckFeedbackStore();
    CheckAgreement();
    return std::move(problems_);
  }

 private:
  void Add(std::string problem) { problems_.push_back(std::move(problem)); }

  // False (with a problem) unless `path` exists and is a folder (`folder`) or a file.
  bool RequirePath(absl::string_view key, const std::string& path, bool folder) {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (!fs::exists(status)) {
      Add(absl::StrCat(key, ": '", path, "' does not exist"));
      return false;
    }
    if (fs::is_directory(status) != folder) {
      Add(absl::StrCat(key, ": '", path,
                       folder ? "' is a file, not a model folder" : "' is a folder, not a file"));
      return false;
    }
    return true;
  }
  bool RequireFile(absl::string_view key, const std::string& path) {
    return RequirePath(key, path, /*folder=*/false);
  }
  bool RequireFolder(absl::string_view key, const std::string& path) {
    return RequirePath(key, path, /*folder=*/true);
  }

  // A Hugging Face folder: config.json and its weights (model.safetensors, shards with their
  // index). Its config.json is kept for the agreement checks.
  void CheckModelFolder(const std::string& key, const std::string& path) {
    if (!RequireFolder(key, path)) return;
    bool weights = false;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(path, error)) {
      const std::string name = entry.path().filename().string();
      weights =
          weights || absl::EndsWith(name, ".safetensors") || name == "model.safetensors.index.json";
    }
    if (!weights) {
      Add(absl::StrCat(key, ": '", path,
                       "' holds no weights (model.safetensors, or shards with "
                       "model.safetensors.index.json)"));
    }
    absl::StatusOr<model::ModelConfig> parsed = model::ReadModelFolderConfig(path);
    if (!parsed.ok()) {
      Add(absl::StrCat(key, ": ", parsed.status().message()));
      return;
    }
    models_.push_back({key, path, *std::move(parsed)});
  }

  // Which models the mode loads, as the services decide (learner_options.cc, reward/main.cc,
  // reference/main.cc).
  void CheckModels() {
    const LearnerMode mode = c_.learner.mode;
    const bool rl = config::IsReinforcementLearning(mode);
    if (c_.model.policy.empty()) {
      Add("model.policy: not set; the learner needs a model folder");
    } else {
      CheckModelFolder("model.policy", c_.model.policy);
    }
    if (config::UsesReference(mode) && !c_.model.reference.empty()) {
      CheckModelFolder("model.reference", c_.model.reference);
    }
    if (rl && c_.model.reward_model.empty()) {
      // With rounds, the critic rule is the config's own (CheckRounds), and the reward
      // service waits for round 1's model.
      if (mode == LearnerMode::kPpo && c_.learner.critic_init == config::CriticInit::kRewardModel &&
          c_.rounds.count == 0) {
        Add("model.reward_model: ppo with learner.critic_init reward-model needs a reward model "
            "folder (or set learner.critic_init: policy)");
      }
      const bool rules =
          c_.reward.rules.length_penalty.weight != 0 || c_.reward.rules.regex.weight != 0;
      if (!rules && c_.rounds.count == 0) {
        Add("model.reward_model: no reward model (model.reward_model) and no rule reward with a "
            "weight: nothing to score with");
      }
    }
    if (rl && !c_.model.reward_model.empty()) {
      CheckModelFolder("model.reward_model", c_.model.reward_model);
    }
    if (rl && !c_.model.cost_model.empty()) {
      CheckModelFolder("model.cost_model", c_.model.cost_model);
    }
    if (!c_.model.tokenizer.empty() && RequireFolder("model.tokenizer", c_.model.tokenizer)) {
      LoadTokenizer("model.tokenizer", c_.model.tokenizer);
    } else if (c_.model.tokenizer.empty() && Loaded("model.policy") != nullptr) {
      LoadTokenizer("model.policy", c_.model.policy);
    }
  }

  void LoadTokenizer(const std::string& key, const std::string& path) {
    absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> loaded =
        tokenizer::Tokenizer::FromDirectory(path);
    if (!loaded.ok()) {
      Add(absl::StrCat(key, ": no tokenizer: ", loaded.status().message()));
      return;
    }
    tokenizer_ = *std::move(loaded);
    tokenizer_key_ = key;
  }

  // The data the coordinator reads (its CheckRunInputs and LoadData).
  void CheckData() {
    const LearnerMode mode = c_.learner.mode;
    const std::string mode_name(config::EnumName(mode));
    const bool rounds_give_data = c_.rounds.count > 0 && config::IsOfflinePreference(mode);
    if (config::IsReinforcementLearning(mode)) {
      if (c_.data.prompts.empty()) {
        Add(absl::StrCat("data.prompts: not set; learner.mode ", mode_name,
                         " samples responses to it"));
      } else {
        RequireFile("data.prompts", c_.data.prompts);
      }
      if (!c_.data.eval_prompts.empty()) RequireFile("data.eval_prompts", c_.data.eval_prompts);
      if (!c_.eval.red_team.empty()) RequireFile("eval.red_team", c_.eval.red_team);
    } else if (!rounds_give_data) {
      if (c_.data.train.empty()) {
        Add(absl::StrCat("data.train: not set; learner.mode ", mode_name,
                         " trains on its examples"));
      } else {
        RequireFile("data.train", c_.data.train);
      }
    }
    if (c_.rounds.count > 0) {
      if (!c_.rounds.prompts.empty()) {
        RequireFile("rounds.prompts", c_.rounds.prompts);
      } else if (rounds_give_data) {
        if (c_.data.prompts.empty()) {
          Add("rounds.prompts: rounds sample responses to judge: set rounds.prompts or "
              "data.prompts");
        } else {
          RequireFile("data.prompts", c_.data.prompts);
        }
      }
    }
  }

  // A role token that does not exist yet is made by reinctl up (rpc::CreateMissingRoleTokens),
  // but only in a folder that exists; every other secret must be there already.
  void CheckServerFiles() {
    const config::ServerConfig& s = c_.server;
    if (!s.tls.cert.empty()) RequireFile("server.tls.cert", s.tls.cert);
    if (!s.tls.key.empty()) RequireFile("server.tls.key", s.tls.key);
    if (!s.tls.client_ca.empty()) RequireFile("server.tls.client_ca", s.tls.client_ca);
    if (!s.auth_token_file.empty()) RequireFile("server.auth_token_file", s.auth_token_file);
    const std::pair<const char*, const std::string*> roles[] = {
        {"server.auth.worker_token_file", &s.auth.worker_token_file},
        {"server.auth.operator_token_file", &s.auth.operator_token_file},
        {"server.auth.monitor_token_file", &s.auth.monitor_token_file}};
    for (const auto& [key, path] : roles) {
      if (path->empty()) continue;
      std::error_code error;
      if (fs::is_directory(*path, error)) {
        Add(absl::StrCat(key, ": '", *path, "' is a folder, not a file"));
      } else if (!fs::exists(*path, error)) {
        RequireParentFolder(key, *path, "reinctl up would write a fresh token there");
      }
    }
    if (c_.rounds.count > 0 && !c_.feedback.admin_token_file.empty()) {
      RequireFile("feedback.admin_token_file", c_.feedback.admin_token_file);
    }
  }

  void RequireParentFolder(absl::string_view key, const std::string& path, absl::string_view why) {
    fs::path parent = fs::path(path).parent_path();
    if (parent.empty()) parent = ".";
    std::error_code error;
    if (!fs::is_directory(parent, error)) {
      Add(absl::StrCat(key, ": the folder of '", path, "' does not exist (", why, ")"));
    }
  }

  // rein-feedback opens (and creates) an SQLite file, but not the folders above it.
  void CheckFeedbackStore() {
    if (c_.rounds.count == 0) return;
    absl::string_view path = c_.feedback.store;
    if (!absl::ConsumePrefix(&path, "sqlite:")) return;
    absl::ConsumePrefix(&path, "//");
    if (path.empty()) return;  // The store names the problem when it opens.
    RequireParentFolder("feedback.store", std::string(path), "rein-feedback creates only the file");
  }

  const ModelEntry* Loaded(absl::string_view key) const {
    for (const ModelEntry& m : models_) {
      if (m.key == key) return &m;
    }
    return nullptr;
  }

  void CheckAgreement() {
    const ModelEntry* policy = Loaded("model.policy");
    const ModelEntry* reference = Loaded("model.reference");
    const ModelEntry* reward = Loaded("model.reward_model");
    const ModelEntry* cost = Loaded("model.cost_model");
    if (policy != nullptr && reference != nullptr &&
        reference->config.vocab_size != policy->config.vocab_size) {
      Add(absl::StrCat("model.reference: vocab_size ", reference->config.vocab_size,
                       " but model.policy has ", policy->config.vocab_size,
                       "; the reference scores the policy's token ids"));
    }
    const bool critic_from_reward = c_.learner.mode == LearnerMode::kPpo &&
                                    c_.learner.critic_init == config::CriticInit::kRewardModel;
    if (critic_from_reward && policy != nullptr && reward != nullptr &&
        reward->config.vocab_size != policy->config.vocab_size) {
      Add(absl::StrCat("model.reward_model: vocab_size ", reward->config.vocab_size,
                       " but model.policy has ", policy->config.vocab_size,
                       "; the critic (learner.critic_init reward-model) reads the policy's ids"));
    }
    if (reward != nullptr && cost != nullptr &&
        cost->config.vocab_size != reward->config.vocab_size) {
      Add(absl::StrCat("model.cost_model: vocab_size ", cost->config.vocab_size,
                       " but model.reward_model has ", reward->config.vocab_size));
    }
    if (tokenizer_ == nullptr) return;
    for (const ModelEntry& m : models_) CheckAgainstTokenizer(m);
  }

  std::string TokenizerName() const {
    return tokenizer_key_ == "model.tokenizer" ? "model.tokenizer's tokenizer"
                                               : "the tokenizer of model.policy";
  }

  // A vocabulary larger than the tokenizer's is padding (Qwen's 151936 for 151669 tokens);
  // a smaller one cannot embed every token.
  void CheckAgainstTokenizer(const ModelEntry& m) {
    const int64_t tokens = tokenizer_->vocab_size();
    if (m.config.vocab_size < tokens) {
      Add(absl::StrCat(m.key, ": vocab_size ", m.config.vocab_size, " but ", TokenizerName(),
                       " has ", tokens, " tokens"));
    }
    CheckSpecialId(m, "bos_token_id", m.config.raw.value("bos_token_id", nlohmann::json()));
    for (int64_t id : m.config.eos_token_ids) CheckSpecialId(m, "eos_token_id", id);
    if (m.config.pad_token_id) CheckSpecialId(m, "pad_token_id", *m.config.pad_token_id);
    const std::optional<tokenizer::TokenId> eos = tokenizer_->special_ids().eos;
    const std::vector<int64_t>& ids = m.config.eos_token_ids;
    if (eos && !ids.empty() && std::find(ids.begin(), ids.end(), *eos) == ids.end()) {
      Add(absl::StrCat(
          m.key, ": config.json eos_token_id ",
          ids.size() == 1 ? absl::StrCat(ids[0]) : absl::StrCat("[", absl::StrJoin(ids, ", "), "]"),
          " but ", TokenizerName(), " has eos_token '", tokenizer_->IdToToken(*eos).value_or("?"),
          "' (id ", *eos, ")"));
    }
  }

  void CheckSpecialId(const ModelEntry& m, absl::string_view name, const nlohmann::json& id) {
    if (!id.is_number_integer()) return;  // Absent or null: nothing to agree on.
    CheckSpecialId(m, name, id.get<int64_t>());
  }

  void CheckSpecialId(const ModelEntry& m, absl::string_view name, int64_t id) {
    const bool known = id >= 0 && id < tokenizer_->vocab_size() &&
                       tokenizer_->IsValidId(static_cast<tokenizer::TokenId>(id));
    if (!known) {
      Add(absl::StrCat(m.key, ": config.json ", name, " ", id, " is not a token of ",
                       TokenizerName()));
    }
  }

  const ExperimentConfig& c_;
  std::vector<std::string> problems_;
  std::vector<ModelEntry> models_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  std::string tokenizer_key_;
};

}  // namespace

std::vector<std::string> PreflightProblems(const config::ExperimentConfig& c) {
  return Preflight(c).Run();
}

}  // namespace rein::reinctl
